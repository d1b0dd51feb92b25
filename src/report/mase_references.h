#pragma once
#include <vector>

#include "report/lab_results.h"

namespace whittle::report {

// Mase's own results for Lab 1 (BERT-Tiny on IMDb), from the executed
// tutorial notebooks in DeepWok/mase: LoRA (tutorial 2), QAT for one epoch
// (tutorial 3), L1-norm pruning then five epochs of fine-tuning (tutorial 4).
ReferenceResults mase_tutorial_reference();

// A lab solution kept in DeepWok/mase's history (commit 6c6af682): one epoch
// of fine-tuning after pruning, random pruning at 0.3, 0.5 and 0.7 only.
ReferenceResults mase_lab_solution_reference();

// Both, in the order of the report's columns.
std::vector<ReferenceResults> mase_references();

}  // namespace whittle::report
