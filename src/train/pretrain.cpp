#include "train/pretrain.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <ostream>
#include <sstream>

#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/temporaries.h"

namespace whittle::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kStateFile = "state.json";
constexpr const char* kOptimizerFile = "optimizer.pt";
constexpr int kStateFormat = 1;

// Salts that keep the random streams of one seed apart.
constexpr uint64_t kOrderSalt = 1;
constexpr uint64_t kMaskSalt = 2;
constexpr uint64_t kDropoutSalt = 3;

// A seeded Fisher-Yates permutation of 0..count-1.
std::vector<int64_t> shuffled_order(int64_t count, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int64_t i = 0; i + 1 < count; ++i) {
    auto span = static_cast<uint64_t>(count - i);
    auto offset = static_cast<int64_t>((static_cast<unsigned __int128>(derive_seed(seed, i)) * span) >> 64);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(i + offset)]);
  }
  return order;
}

// The sequences of each step, epoch by epoch.
class BatchPlan {
 public:
  BatchPlan(int64_t sequences, int64_t batch_size, uint64_t seed)
      : sequences_(sequences), batch_size_(batch_size), seed_(seed),
        steps_per_epoch_((sequences + batch_size - 1) / batch_size) {}

  int64_t epoch_of(int64_t step) const { return step / steps_per_epoch_; }

  std::vector<int64_t> indices(int64_t step) {
    int64_t epoch = epoch_of(step);
    if (epoch != cached_epoch_) {
      order_ = shuffled_order(sequences_, derive_seed(derive_seed(seed_, kOrderSalt), epoch));
      cached_epoch_ = epoch;
    }
    int64_t begin = (step % steps_per_epoch_) * batch_size_;
    int64_t end = std::min(sequences_, begin + batch_size_);
    return {order_.begin() + begin, order_.begin() + end};
  }

  // Masks change every epoch (dynamic masking, as RoBERTa does).
  uint64_t mask_seed(int64_t step) const { return derive_seed(derive_seed(seed_, kMaskSalt), epoch_of(step)); }

 private:
  int64_t sequences_;
  int64_t batch_size_;
  uint64_t seed_;
  int64_t steps_per_epoch_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;
};

model::SeedSequence dropout_seeds(uint64_t seed, int64_t step) {
  return model::SeedSequence(derive_seed(derive_seed(seed, kDropoutSalt), static_cast<uint64_t>(step)));
}

// One AdamW step on the batch; returns its loss.
double training_step(model::BertForMaskedLM& model, torch::optim::Optimizer& optimizer,
                     std::vector<torch::Tensor>& parameters, const MlmBatch& batch, const PretrainOptions& options,
                     int64_t step) {
  for (auto& parameter : parameters) parameter.mutable_grad() = torch::Tensor();  // no zero-fill pass
  model::SeedSequence dropout = dropout_seeds(options.seed, step);
  torch::Tensor loss = model->loss(batch.input_ids, batch.attention_mask, batch.labels, &dropout);
  loss.backward();
  if (options.max_grad_norm > 0.0) torch::nn::utils::clip_grad_norm_(parameters, options.max_grad_norm);
  optimizer.step();
  return loss.item<double>();
}

std::string optimizer_bytes(const torch::optim::Optimizer& optimizer) {
  std::ostringstream out;
  torch::save(optimizer, out);
  return out.str();
}

void save_resume_state(const fs::path& resume_dir, const model::BertForMaskedLM& model,
                       const torch::optim::Optimizer& optimizer, const ResumeState& state) {
  const std::string weights = model::serialize_safetensors(model::masked_lm_tensors(model));
  const std::string moments = optimizer_bytes(optimizer);
  const json document = {{"format", kStateFormat},
                         {"step", state.step},
                         {"total_steps", state.total_steps},
                         {"settings", state.settings}};
  write_directory_atomically(resume_dir, [&](const fs::path& staging) {
    write_file_atomically(staging / model::Checkpoint::weights_file, weights);
    write_file_atomically(staging / kOptimizerFile, moments);
    write_file_atomically(staging / kStateFile, document.dump(2) + "\n");
  });
}

void load_resume_weights(const fs::path& resume_dir, model::BertForMaskedLM& model, torch::optim::Optimizer& optimizer) {
  model::assign_masked_lm_tensors(model, model::read_safetensors(resume_dir / model::Checkpoint::weights_file),
                                  "resume state " + resume_dir.string());
  std::istringstream moments(read_file(resume_dir / kOptimizerFile));
  try {
    torch::load(optimizer, moments);
  } catch (const c10::Error& error) {
    throw Error("resume state " + (resume_dir / kOptimizerFile).string() +
                " is not a readable optimizer state: " + error.what_without_backtrace());
  }
}

std::string format_number(double value) {
  std::ostringstream text;
  text.precision(4);
  text << value;
  return text.str();
}

}  // namespace

void PretrainOptions::validate() const {
  auto fail = [](const std::string& message) { throw Error("invalid pretraining option: " + message); };
  if (total_steps < 1) fail("the number of steps must be at least 1, got " + std::to_string(total_steps));
  validate_optimizer_settings({batch_size, learning_rate, weight_decay, warmup_ratio, max_grad_norm}, fail);
  if (checkpoint_minutes < 0.0) fail("checkpoint interval must not be negative, got " + std::to_string(checkpoint_minutes));
  if (stop_after_steps < 0) fail("stop-after steps must not be negative, got " + std::to_string(stop_after_steps));
  masking.validate();
}

json PretrainOptions::to_json() const {
  return {{"total_steps", total_steps},
          {"batch_size", batch_size},
          {"learning_rate", learning_rate},
          {"weight_decay", weight_decay},
          {"warmup_ratio", warmup_ratio},
          {"max_grad_norm", max_grad_norm},
          {"seed", seed},
          {"masking",
           {{"predict_fraction", masking.predict_fraction},
            {"mask_fraction", masking.mask_fraction},
            {"random_fraction", masking.random_fraction}}}};
}

int64_t steps_for_epochs(int64_t sequences, int64_t batch_size, double epochs) {
  if (sequences < 1) throw Error("no training sequences to pretrain on");
  if (batch_size < 1) throw Error("batch size must be at least 1, got " + std::to_string(batch_size));
  if (!(epochs > 0.0)) throw Error("epochs must be positive, got " + std::to_string(epochs));
  int64_t per_epoch = (sequences + batch_size - 1) / batch_size;
  return std::max<int64_t>(1, std::llround(epochs * static_cast<double>(per_epoch)));
}

std::optional<ResumeState> read_resume_state(const fs::path& resume_dir) {
  // A save cut short leaves its new state under a temporary name, or (where
  // the folders cannot be swapped in one step) the old one moved aside: the
  // first is dropped, the second moved back.
  remove_stale_temporaries_of(resume_dir);
  std::error_code error;
  const fs::path file = resume_dir / kStateFile;
  if (!fs::exists(file, error)) return std::nullopt;
  try {
    json document = json::parse(read_file(file));
    if (document.value("format", 0) != kStateFormat) throw Error("unknown format");
    ResumeState state;
    state.step = document.at("step").get<int64_t>();
    state.total_steps = document.at("total_steps").get<int64_t>();
    state.settings = document.at("settings");
    if (state.step < 0 || state.step > state.total_steps) throw Error("step outside the schedule");
    return state;
  } catch (const std::exception& problem) {
    throw Error("resume state " + file.string() + " is unreadable (" + problem.what() +
                "); delete " + resume_dir.string() + " to start over");
  }
}

void discard_resume_state(const fs::path& resume_dir) { remove_directory_atomically(resume_dir); }

json recorded_settings(const json& run_settings, const PretrainOptions& options) {
  return {{"run", run_settings}, {"options", options.to_json()}};
}

std::string describe_difference(const json& saved, const json& current) {
  if (saved.is_object() && current.is_object()) {
    for (const auto& [key, value] : saved.items()) {
      if (!current.contains(key)) return key + ": " + value.dump() + " there, absent here";
      std::string inner = describe_difference(value, current.at(key));
      if (!inner.empty()) return key + (inner.starts_with(":") ? "" : ".") + inner;
    }
    for (const auto& [key, value] : current.items()) {
      if (!saved.contains(key)) return key + ": absent there, " + value.dump() + " here";
    }
    return "";
  }
  if (saved == current) return "";
  return ": " + saved.dump() + " there, " + current.dump() + " here";
}

PretrainRun pretrain_masked_lm(model::BertForMaskedLM& model, const Sequences& sequences, const MaskingTokens& tokens,
                               const PretrainOptions& options, const fs::path& resume_dir, const json& settings,
                               std::ostream& log) {
  options.validate();
  if (sequences.empty()) throw Error("no training sequences to pretrain on");
  const json wanted_settings = recorded_settings(settings, options);
  auto optimizer = make_adamw(*model, options.learning_rate, options.weight_decay);

  PretrainRun run;
  run.total_steps = options.total_steps;
  if (std::optional<ResumeState> saved = read_resume_state(resume_dir)) {
    std::string difference = describe_difference(saved->settings, wanted_settings);
    if (!difference.empty()) {
      throw Error("the pretraining state in " + resume_dir.string() + " was made with other settings (" + difference +
                  "); use another output directory, or the options it was started with");
    }
    load_resume_weights(resume_dir, model, optimizer);
    run.first_step = saved->step;
    log << "resuming from step " << saved->step << " of " << saved->total_steps << "\n";
  }

  std::vector<torch::Tensor> parameters = model->parameters();
  LinearSchedule schedule(options.learning_rate,
                          static_cast<int64_t>(options.warmup_ratio * static_cast<double>(options.total_steps)),
                          options.total_steps);
  BatchPlan plan(static_cast<int64_t>(sequences.size()), options.batch_size, options.seed);
  model->train();
  Progress progress("pretrain", options.total_steps - run.first_step, log);
  using Clock = std::chrono::steady_clock;
  auto last_save = Clock::now();
  const auto save_interval = std::chrono::duration<double, std::ratio<60>>(options.checkpoint_minutes);
  double loss_sum = 0.0;
  double smoothed_loss = std::nan("");
  int64_t step = run.first_step;
  auto save = [&] {
    save_resume_state(resume_dir, model, optimizer, {step, options.total_steps, wanted_settings});
    last_save = Clock::now();
  };
  while (step < options.total_steps) {
    MlmBatch batch = make_mlm_batch(sequences, plan.indices(step), tokens, options.masking, plan.mask_seed(step));
    set_learning_rate(optimizer, schedule.rate(step));
    double value = training_step(model, optimizer, parameters, batch, options, step);
    ++step;
    loss_sum += value;
    smoothed_loss = std::isnan(smoothed_loss) ? value : 0.95 * smoothed_loss + 0.05 * value;
    progress.advance(1, batch.real_tokens,
                     "step " + std::to_string(step) + "/" + std::to_string(options.total_steps) + " loss " +
                         format_number(smoothed_loss));

    int64_t steps_this_run = step - run.first_step;
    bool stop_now = options.stop_after_steps > 0 && steps_this_run >= options.stop_after_steps &&
                    step < options.total_steps;
    bool interval_passed = options.checkpoint_minutes > 0.0 && Clock::now() - last_save >= save_interval;
    if (stop_now || (interval_passed && step < options.total_steps)) {
      save();
      log << "\nsaved the pretraining state at step " << step << " in " << resume_dir.string() << "\n";
    }
    if (stop_now) break;
  }

  int64_t steps_this_run = step - run.first_step;
  run.last_step = step;
  run.complete = step >= options.total_steps;
  run.mean_loss = steps_this_run > 0 ? loss_sum / static_cast<double>(steps_this_run) : 0.0;
  run.seconds = progress.elapsed_seconds();
  run.tokens_per_second = progress.tokens_per_second();
  progress.finish("mean loss " + format_number(run.mean_loss));
  return run;
}

double measure_seconds_per_step(model::BertForMaskedLM& model, const Sequences& sequences,
                                const MaskingTokens& tokens, const PretrainOptions& options, int64_t probe_steps) {
  if (sequences.empty()) throw Error("no training sequences to pretrain on");
  if (probe_steps < 1) throw Error("probe steps must be at least 1");
  model->train();
  BatchPlan plan(static_cast<int64_t>(sequences.size()), options.batch_size, options.seed);
  std::vector<torch::Tensor> parameters = model->parameters();
  // The first pass allocates the buffers the others reuse: not timed.
  double seconds = 0.0;
  for (int64_t step = 0; step <= probe_steps; ++step) {
    auto start = std::chrono::steady_clock::now();
    MlmBatch batch = make_mlm_batch(sequences, plan.indices(step), tokens, options.masking, plan.mask_seed(step));
    model::SeedSequence dropout = dropout_seeds(options.seed, step);
    model->loss(batch.input_ids, batch.attention_mask, batch.labels, &dropout).backward();
    if (options.max_grad_norm > 0.0) torch::nn::utils::clip_grad_norm_(parameters, options.max_grad_norm);
    for (auto& parameter : parameters) parameter.mutable_grad() = torch::Tensor();
    if (step > 0) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // The optimizer step (AdamW over all 4.4M parameters) is not probed; it is
  // a few percent of a step.
  return seconds / static_cast<double>(probe_steps);
}

}  // namespace whittle::train
