#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "experiments/lab_config.h"
#include "experiments/lab_pipeline.h"
#include "text/tokenizer.h"
#include "util/error.h"
#include "util/tee_stream.h"
#include "util/time_limit.h"

namespace whittle::cli {
namespace {
namespace fs = std::filesystem;

struct LabArguments {
  std::string config;
  std::string profile;
  std::string out;
  std::string data;
  std::string base;
  std::vector<std::string> overrides;
  std::string cache_dir;
  int workers = 1;
  std::optional<double> time_limit_minutes;
  std::optional<std::string> shard;
};

fs::path default_lab_config() { return assets_dir().parent_path() / "configs" / "lab1.toml"; }

// The --set assignments, then what the command's own flags set.
experiments::LabOverrides lab_overrides(const LabArguments& arguments) {
  experiments::LabOverrides overrides;
  overrides.set = arguments.overrides;
  if (!arguments.data.empty()) overrides.data_source = fs::absolute(arguments.data);
  if (!arguments.base.empty()) overrides.base_model = fs::absolute(arguments.base);
  return overrides;
}

DataOptions data_options(const experiments::LabConfig& config, const std::string& cache_dir) {
  DataOptions data;
  data.source = config.data.source.empty() ? (assets_dir() / "imdb-sample.tar.gz").string() : config.data.source.string();
  data.max_length = config.data.max_length;
  data.seed = config.data.seed;
  data.cache_dir = cache_dir;
  data.validate();
  return data;
}

// The log is a copy of what the terminal shows: a log the disk had no room
// for does not stop the run (the results' own writes do), but is told.
void warn_if_incomplete(std::ofstream& log_file, const fs::path& log_path) {
  if (log_file.flush()) return;
  std::cerr << "whittle: warning: the log " << log_path.string()
            << " could not be written in full (is the disk full?); the terminal showed all of it\n";
}

void run_lab(const LabArguments& arguments) {
  const auto deadline = deadline_after(arguments.time_limit_minutes);
  fs::path config_path = arguments.config.empty() ? default_lab_config() : fs::path(arguments.config);
  auto config = experiments::load_lab_config(config_path, arguments.profile, lab_overrides(arguments));
  fs::path run_dir = arguments.out.empty() ? fs::path("runs") / ("lab-" + (config.profile.empty() ? "default" : config.profile))
                                           : fs::path(arguments.out);
  fs::create_directories(run_dir);
  const ProcessPlace shard = resolve_shard(arguments.shard);
  // Processes sharing the run keep their own logs, whose lines would interleave.
  const fs::path log_path =
      run_dir / (shard.index == 0 ? std::string("lab.log") : "lab.shard-" + std::to_string(shard.index) + ".log");
  std::ofstream log_file(log_path, std::ios::app);
  if (!log_file) throw Error("cannot write the log file " + log_path.string());
  TeeStream log(std::cerr, log_file);
  log << "whittle lab: " << config.title << " (config " << config_path.string()
      << (config.profile.empty() ? "" : ", profile " + config.profile) << ") → " << run_dir.string() << "\n";

  DataOptions data = data_options(config, arguments.cache_dir);
  fs::path tokenizer_dir = resolve_tokenizer_dir(data, config.base.model);
  text::Tokenizer tokenizer = text::Tokenizer::load(tokenizer_dir);
  auto train_set = load_split(data, data::Split::train, config.data.train_limit, tokenizer);
  auto test_set = load_split(data, data::Split::test, config.data.test_limit, tokenizer);
  experiments::LabInputs inputs{train_set, test_set, tokenizer_dir,
                                describe_data(data, config.data.train_limit, config.data.test_limit),
                                arguments.workers, deadline, shard};
  experiments::LabOutcome outcome;
  try {
    outcome = experiments::run_lab(config, inputs, run_dir, log);
  } catch (const TimeLimitReached& stopped) {
    // main() prints the same line to stderr; the log keeps why the run ended.
    log_file << "whittle: stopped: " << stopped.what() << "\n";
    warn_if_incomplete(log_file, log_path);
    throw;
  } catch (...) {
    warn_if_incomplete(log_file, log_path);
    throw;
  }
  warn_if_incomplete(log_file, log_path);
  log << "report: " << outcome.report_markdown.string() << " and " << outcome.report_html.string() << "\n";
  print_json_line(nlohmann::json({{"run", run_dir.string()},
                                  {"report", outcome.report_markdown.string()},
                                  {"report_html", outcome.report_html.string()},
                                  {"stages", outcome.stages}}));
}

}  // namespace

void register_lab_command(CLI::App& app) {
  auto [command, arguments] = add_command<LabArguments>(app, "lab", run_lab,
      "the whole lab in one resumable run: base model, LoRA, quantization sweep, best QAT model, pruning sweep, report");
  command->add_option("--config", arguments->config, "lab config (TOML or JSON); default: the shipped configs/lab1.toml");
  command->add_option("--profile", arguments->profile, "a [profiles.NAME] section of the config, e.g. quick or full");
  command->add_option("--out", arguments->out, "run directory (default runs/lab-PROFILE); a killed run resumes there");
  command->add_option("--data", arguments->data, "IMDb: aclImdb_v1.tar.gz or the aclImdb folder (sets data.source)");
  command->add_option("--base", arguments->base, "base checkpoint directory, e.g. a Hugging Face BERT (sets base.model)");
  command->add_option("--set", arguments->overrides, "override one config key: KEY=VALUE in TOML syntax, e.g. "
                                                     "--set quantize.widths=[4,8] (repeatable)");
  command->add_option("--cache-dir", arguments->cache_dir, "where tokenized datasets are cached");
  add_workers_option(*command, arguments->workers);
  add_time_limit_option(*command, arguments->time_limit_minutes);
  add_shard_option(*command, arguments->shard);
}

}  // namespace whittle::cli
