#pragma once
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert_mlm.h"
#include "train/mlm_masking.h"

namespace whittle::train {

using Sequences = std::vector<std::vector<int32_t>>;

struct PretrainOptions {
  int64_t total_steps = 0;  // the length of the schedule; must be positive
  int64_t batch_size = 64;
  double learning_rate = 1e-3;
  double weight_decay = 0.01;  // decoupled (AdamW); not on biases and LayerNorm
  double warmup_ratio = 0.05;
  double max_grad_norm = 1.0;  // 0 disables clipping
  uint64_t seed = 0;           // data order, masks and dropout
  MaskingOptions masking;
  // How often the resume state is saved; 0 saves only when stopping early.
  double checkpoint_minutes = 10.0;
  // > 0: this call saves the resume state and returns after this many
  // steps, as if the process had been stopped there.
  int64_t stop_after_steps = 0;

  // Throws whittle::Error naming the first invalid option.
  void validate() const;
  // The options that decide the trained weights (not how often it saves or stops).
  nlohmann::json to_json() const;
};

// The number of steps for `epochs` passes over `sequences` sequences
// (the last batch of a pass may be smaller).
int64_t steps_for_epochs(int64_t sequences, int64_t batch_size, double epochs);

// What a resume directory holds besides the weights and optimizer state.
struct ResumeState {
  int64_t step = 0;  // steps done
  int64_t total_steps = 0;
  nlohmann::json settings;  // recorded_settings()
};

// The state in `resume_dir`, or nothing when there is none. Throws
// whittle::Error when it exists but is unreadable. What a process killed
// while saving it left beside it is cleared first, so that an interrupted
// save never stands in the way of the next start.
std::optional<ResumeState> read_resume_state(const std::filesystem::path& resume_dir);

// Removes the state once the finished model is saved; a process killed
// meanwhile leaves no part of it under its name (which would look like a
// damaged state to the next start).
void discard_resume_state(const std::filesystem::path& resume_dir);

// What a run records and compares to resume: {"run": the caller's
// settings, "options": options.to_json()}.
nlohmann::json recorded_settings(const nlohmann::json& run_settings, const PretrainOptions& options);

// The first place where two settings documents differ ("options.batch_size:
// 64 there, 128 here"), or an empty string when they are equal.
std::string describe_difference(const nlohmann::json& saved, const nlohmann::json& current);

struct PretrainRun {
  int64_t first_step = 0;  // where this call started (> 0 after resuming)
  int64_t last_step = 0;   // steps done when it returned
  int64_t total_steps = 0;
  bool complete = false;   // false: stopped early; the resume state holds last_step
  double mean_loss = 0.0;  // over the steps of this call
  double seconds = 0.0;
  double tokens_per_second = 0.0;  // real (unpadded) tokens
};

// Masked-LM pretraining with AdamW, linear warm-up and decay, gradient
// clipping. Every step is a function of (seed, step) alone: the batch
// (a seeded shuffle per epoch), the masks (per epoch and sequence) and the
// dropout seeds. So the state to resume from is the weights, the optimizer
// moments and the step; they are saved atomically into `resume_dir` every
// checkpoint_minutes. When `resume_dir` holds a state, training continues
// from it; `settings` (whatever else decided the run: model config, corpus,
// tokenizer) and the options must match those it was saved with, else
// whittle::Error names the difference. A complete run leaves `resume_dir`
// as it was (the caller removes it once the result is saved).
PretrainRun pretrain_masked_lm(model::BertForMaskedLM& model, const Sequences& sequences, const MaskingTokens& tokens,
                               const PretrainOptions& options, const std::filesystem::path& resume_dir,
                               const nlohmann::json& settings, std::ostream& log);

// Seconds per training step on this machine now, from `probe_steps` forward
// and backward passes over the first batches; the model is left unchanged.
double measure_seconds_per_step(model::BertForMaskedLM& model, const Sequences& sequences,
                                const MaskingTokens& tokens, const PretrainOptions& options, int64_t probe_steps);

}  // namespace whittle::train
