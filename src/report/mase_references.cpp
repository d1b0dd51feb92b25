#include "report/mase_references.h"

#include <string>

namespace whittle::report {
namespace {

const std::string kTutorials = "DeepWok/mase docs/source/modules/documentation/tutorials/";
const std::string kSolution =
    "DeepWok/mase at commit 6c6af682, docs/source/modules/documentation/tutorials/";

ReferenceNumber width_number(ReferenceMeasure measure, int64_t width, double accuracy, const std::string& source) {
  return {measure, width, "", 0.0, accuracy, source};
}

ReferenceNumber pruned_number(ReferenceMeasure measure, const std::string& method, double sparsity, double accuracy,
                              const std::string& source) {
  return {measure, 0, method, sparsity, accuracy, source};
}

}  // namespace

ReferenceResults mase_tutorial_reference() {
  const std::string lora = kTutorials + "tutorial_2_lora_finetune.ipynb";
  const std::string qat = kTutorials + "tutorial_3_qat.ipynb";
  const std::string pruning = kTutorials + "tutorial_4_pruning.ipynb";
  return {"Mase tutorials",
          "Mase's executed tutorial notebooks, each run continuing from the previous one's checkpoint: the "
          "pretrained DeepWokLab/bert-tiny fine-tuned for one epoch, then one epoch with LoRA adapters, fused "
          "(tutorial 2); fixed-point quantization at 8 bits, frac width 4, then one epoch of QAT (tutorial 3); "
          "L1-norm pruning of weights and activations at sparsity 0.5, local, then five epochs of fine-tuning, "
          "evaluated after the last (tutorial 4)",
          {{ReferenceMeasure::lora_fused, 0, "", 0.0, 0.82264, lora},
           {ReferenceMeasure::before_quantization, 0, "", 0.0, 0.8282, qat},
           width_number(ReferenceMeasure::ptq, 8, 0.8282, qat),
           width_number(ReferenceMeasure::qat, 8, 0.84232, qat),
           pruned_number(ReferenceMeasure::after_pruning, "l1-norm", 0.5, 0.55512, pruning),
           pruned_number(ReferenceMeasure::pruned_final, "l1-norm", 0.5, 0.83624, pruning)}};
}

ReferenceResults mase_lab_solution_reference() {
  const std::string quantization = kSolution + "lab_1_task_1_results/quantization_results.json";
  const std::string pruning = kSolution + "lab_1_task_2_results/pruning_results.json";
  ReferenceResults reference;
  reference.name = "lab solution in Mase's history";
  reference.setting =
      "one student's solution of the lab, kept in DeepWok/mase's history: PTQ and one epoch of QAT at each width; "
      "the best QAT model pruned (weights and activations, local) and fine-tuned for one epoch, evaluated once after "
      "it; random pruning reported at sparsities 0.3, 0.5 and 0.7 only";
  reference.numbers.push_back({ReferenceMeasure::before_quantization, 0, "", 0.0, 0.81396, quantization});
  const int64_t widths[] = {4, 6, 8, 12, 16, 24, 32};
  const double ptq[] = {0.5, 0.68936, 0.73324, 0.80884, 0.81368, 0.81408, 0.81392};
  const double qat[] = {0.5, 0.82332, 0.83276, 0.83472, 0.83504, 0.8346, 0.83464};
  for (std::size_t i = 0; i < std::size(widths); ++i) {
    reference.numbers.push_back(width_number(ReferenceMeasure::ptq, widths[i], ptq[i], quantization));
    reference.numbers.push_back(width_number(ReferenceMeasure::qat, widths[i], qat[i], quantization));
  }
  const double sparsities[] = {0.3, 0.5, 0.7};
  const double random[] = {0.76764, 0.51492, 0.49896};
  const double l1_norm[] = {0.8322, 0.81508, 0.75352};
  for (std::size_t i = 0; i < std::size(sparsities); ++i) {
    reference.numbers.push_back(pruned_number(ReferenceMeasure::pruned_final, "random", sparsities[i], random[i], pruning));
    reference.numbers.push_back(
        pruned_number(ReferenceMeasure::pruned_final, "l1-norm", sparsities[i], l1_norm[i], pruning));
  }
  return reference;
}

std::vector<ReferenceResults> mase_references() { return {mase_tutorial_reference(), mase_lab_solution_reference()}; }

}  // namespace whittle::report
