#pragma once
#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/tokenized.h"
#include "experiments/lab_config.h"
#include "util/launcher.h"

namespace whittle::experiments {

struct LabInputs {
  const data::TokenizedDataset& train_set;
  const data::TokenizedDataset& test_set;
  std::filesystem::path tokenizer_dir;  // copied into every saved model
  nlohmann::json data_description;      // part of every sweep's signature
  int sweep_workers = 1;                // sweep points run at a time; changes no result
  // No stage or sweep point starts that would not finish by then; the run
  // stops with whittle::TimeLimitReached and resumes when run again.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Several processes may run one lab (mpirun, srun, a Slurm job array): the
  // sweeps share their points among them, a stage of one model (base, LoRA)
  // runs in whichever process claims it while the others wait, and the
  // report is written by the first process.
  ProcessPlace shard;
};

// The stages of a lab run, in order; each writes under the run directory.
//   base      the start model: a checkpoint, or one fine-tuned here   base/model
//   lora      LoRA fine-tuning, then the adapters fused              lora/model
//   quantize  PTQ and QAT for every width; keeps the best QAT model  quantize/
//   prune     random and L1-norm pruning of the best QAT model       prune/
//   mixed     (optional, [mixed] enabled) per-tensor widths within   mixed/
//             an accuracy budget, from the LoRA model
//   report    report.md, report.html and the size figure             report.*
// A stage whose record is in stages.json is skipped, and the sweeps resume
// point by point, so a killed run continues where it stopped. The config of
// the run is kept in lab-config.json; resuming with another config is an
// error, so results of two setups never mix.
struct LabOutcome {
  nlohmann::json stages;  // the stage record
  std::filesystem::path report_markdown;
  std::filesystem::path report_html;
};

LabOutcome run_lab(const LabConfig& config, const LabInputs& inputs, const std::filesystem::path& run_dir,
                   std::ostream& log);

}  // namespace whittle::experiments
