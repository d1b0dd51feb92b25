// Size and evaluation speed of compiled models (whittle compile / run) next
// to the float32 model in LibTorch, measured in one run on the same machine:
//   - the float32 checkpoint, fake-quantized in memory at each width (PTQ:
//     size and speed do not depend on how the weights were trained);
//   - 8-bit models with L1 weight pruning at each sparsity (and input pruning
//     with --prune-activations);
//   - any checkpoints given with --models (QAT, pruned, ...), as they are.
// Each variant is compiled and read back as `whittle run` reads it. Its
// predictions are compared with its simulated (fake-quantized) model's on the
// evaluation slice. Then, round after round, the float32 model and each
// compiled model evaluate the same slice back to back, so that both see the
// same background load; a variant's speed-up is the median of its rounds.
//
//   build/integer_inference [--float DIR] [--data aclImdb_v1.tar.gz] [--limit 500]
//       [--widths 4,6,8,...] [--sparsities 0.5,0.7,0.9] [--models DIR,...]
//       [--rounds 3] [--threads 2] [--out docs/results/deploy]
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "data/token_cache.h"
#include "data/tokenized.h"
#include "deploy/compile.h"
#include "deploy/deployed_classifier.h"
#include "deploy/evaluate_deployed.h"
#include "deploy/model_file.h"
#include "experiments/compressed_model.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_pass.h"
#include "report/plot.h"
#include "text/tokenizer_files.h"
#include "train/evaluate.h"
#include "util/atomic_file.h"
#include "util/runtime.h"

#ifndef WHITTLE_SOURCE_DIR
#define WHITTLE_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;
using whittle::deploy::DeployedClassifier;
using whittle::model::BertForSequenceClassification;

// The options results.json records; the field names are its keys.
struct RecordedOptions {
  std::string data = std::string(WHITTLE_SOURCE_DIR) + "/assets/imdb-sample.tar.gz";
  int64_t batch_size = 32;
  bool prune_activations = false;
  int64_t embedding_bits = 8;
  int64_t position_embedding_bits = 32;
  int rounds = 3;
  int threads = 2;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RecordedOptions, data, batch_size, prune_activations, embedding_bits,
                                   position_embedding_bits, rounds, threads)

struct Options : RecordedOptions {
  std::string float_dir = std::string(WHITTLE_SOURCE_DIR) + "/models/bert-tiny-imdb-scratch";
  int64_t limit = 500;
  int64_t max_length = 512;
  std::string widths = "4,6,8,10,12,14,16,20,24,28,32";
  std::string sparsities = "0.5,0.7,0.9";
  std::string models;
  std::string out;
};

// What results.json records of a compiled model; the field names are its keys.
struct VariantRecord {
  std::string name, group;  // group: "width", "pruned" or "checkpoint"
  double x = 0;             // width or sparsity
  int64_t file_bytes = 0;
  int64_t linear_weight_bytes = 0;  // of the file: the Linears' weights, as packed
  double smaller_by = 0;            // the float32 checkpoint's bytes / file_bytes
  std::map<std::string, int> engines;
  nlohmann::json agreement;
  double simulated_accuracy = 0, compiled_accuracy = 0;
  // One entry per round; a speed-up is compiled / float32 tokens per second.
  std::vector<double> float_tokens_per_second, compiled_tokens_per_second, speedup;
  double speedup_median = 0, speedup_min = 0, speedup_max = 0;
  // The same per CPU second of the process: on a shared VM, wall time also
  // counts the time the vCPUs were not running, which moves every ratio.
  std::vector<double> float_tokens_per_cpu_second, compiled_tokens_per_cpu_second, cpu_speedup;
  double cpu_speedup_median = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(VariantRecord, name, group, x, file_bytes, linear_weight_bytes, smaller_by, engines,
                                   agreement, simulated_accuracy, compiled_accuracy, float_tokens_per_second,
                                   compiled_tokens_per_second, speedup, speedup_median, speedup_min, speedup_max,
                                   float_tokens_per_cpu_second, compiled_tokens_per_cpu_second, cpu_speedup,
                                   cpu_speedup_median)

// One compiled model and what was measured of it.
struct Variant {
  VariantRecord record;
  std::unique_ptr<DeployedClassifier> classifier;
};

// An evaluation's tokens per wall second and per CPU second.
template <typename Evaluate>
std::pair<double, double> timed_evaluation(Evaluate&& evaluate) {
  const double cpu_start = whittle::process_cpu_seconds();
  const whittle::train::EvalResult result = evaluate();
  const double cpu_seconds = whittle::process_cpu_seconds() - cpu_start;
  return {result.tokens_per_second, result.tokens_per_second * result.seconds / cpu_seconds};
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// "a,b,c" → {"a", "b", "c"}; "" → {}.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0.0 : values[values.size() / 2];
}

whittle::data::TokenizedDataset load_slice(const Options& options, const whittle::text::Tokenizer& tokenizer) {
  auto reviews = whittle::data::read_imdb(options.data, whittle::data::Split::test);
  reviews = whittle::data::balanced_subset(std::move(reviews), options.limit, 0);
  return whittle::data::tokenize_reviews_cached(reviews, tokenizer, options.max_length, whittle::data::default_cache_dir());
}

Variant compile_variant(BertForSequenceClassification model, const whittle::text::TokenizerFiles& tokenizer,
                        const Options& options, const whittle::data::TokenizedDataset& slice) {
  Variant variant;
  VariantRecord& record = variant.record;
  whittle::deploy::CompileOptions compile_options{
      whittle::deploy::embedding_storage_from_bits(options.embedding_bits),
      whittle::deploy::embedding_storage_from_bits(options.position_embedding_bits)};
  const std::string bytes =
      whittle::deploy::serialize_compiled_model(whittle::deploy::compile_classifier(model, tokenizer, compile_options));
  record.file_bytes = static_cast<int64_t>(bytes.size());
  const auto layout = whittle::deploy::describe_model_file(bytes, "compiled");
  for (const auto& [name, stored] : layout.tensor_bytes) {
    const bool linear_weight = name.ends_with(".weight") && !name.starts_with("bert.embeddings.") &&
                               name.find("LayerNorm") == std::string::npos;
    if (linear_weight) record.linear_weight_bytes += stored;
  }
  variant.classifier = std::make_unique<DeployedClassifier>(whittle::deploy::parse_compiled_model(bytes, "compiled"));
  for (const auto& [name, engine] : variant.classifier->engines()) ++record.engines[engine];
  std::ostringstream quiet;
  const whittle::train::EvalOptions eval{options.batch_size, 32};
  auto simulated = whittle::train::evaluate(model, slice, eval, quiet);
  auto compiled = whittle::deploy::evaluate_deployed(*variant.classifier, slice, eval, quiet);
  record.agreement = whittle::deploy::to_json(whittle::deploy::compare_logits(compiled.logits, simulated.logits));
  record.simulated_accuracy = simulated.accuracy;
  record.compiled_accuracy = compiled.accuracy;
  return variant;
}

BertForSequenceClassification float_model(const Options& options) {
  return whittle::experiments::load_compressed(options.float_dir, 0).model;
}

std::vector<Variant> build_variants(const Options& options, const whittle::text::TokenizerFiles& tokenizer,
                                    const whittle::data::TokenizedDataset& slice) {
  namespace passes = whittle::passes;
  std::vector<Variant> variants;
  auto add = [&](BertForSequenceClassification model, std::string name, std::string group, double x) {
    std::cerr << "compiling " << name << "\n";
    Variant variant = compile_variant(std::move(model), tokenizer, options, slice);
    variant.record.name = std::move(name);
    variant.record.group = std::move(group);
    variant.record.x = x;
    variants.push_back(std::move(variant));
  };
  for (const std::string& item : split_list(options.widths)) {
    const int64_t width = std::stoll(item);
    auto model = float_model(options);
    passes::quantize_pass(model, passes::uniform_quantize_config(width));
    add(model, "w" + std::to_string(width), "width", static_cast<double>(width));
  }
  for (const std::string& item : split_list(options.sparsities)) {
    const double sparsity = std::stod(item);
    auto model = float_model(options);
    passes::quantize_pass(model, passes::uniform_quantize_config(8));
    passes::prune_pass(model, passes::uniform_prune_config(sparsity, passes::PruneMethod::l1_norm,
                                                           passes::PruneScope::local, options.prune_activations), 0);
    add(model, (options.prune_activations ? "w8-l1-wa-" : "w8-l1-") + item, "pruned", sparsity);
  }
  for (const std::string& dir : split_list(options.models)) {
    add(whittle::experiments::load_compressed(dir, 0).model, fs::path(dir).filename().string(), "checkpoint", 0);
  }
  return variants;
}

// Float32 and compiled evaluations of the same slice, back to back.
void time_rounds(std::vector<Variant>& variants, BertForSequenceClassification& baseline, const Options& options,
                 const whittle::data::TokenizedDataset& slice) {
  const whittle::train::EvalOptions eval{options.batch_size, 32};
  std::ostringstream quiet;
  whittle::train::evaluate(baseline, slice, eval, quiet);  // warm-up
  for (int round = 0; round < options.rounds; ++round) {
    for (Variant& variant : variants) {
      VariantRecord& record = variant.record;
      auto [float_tps, float_cpu_tps] =
          timed_evaluation([&] { return whittle::train::evaluate(baseline, slice, eval, quiet); });
      auto [compiled_tps, compiled_cpu_tps] = timed_evaluation(
          [&] { return whittle::deploy::evaluate_deployed(*variant.classifier, slice, eval, quiet); });
      record.float_tokens_per_second.push_back(float_tps);
      record.compiled_tokens_per_second.push_back(compiled_tps);
      record.speedup.push_back(compiled_tps / float_tps);
      record.float_tokens_per_cpu_second.push_back(float_cpu_tps);
      record.compiled_tokens_per_cpu_second.push_back(compiled_cpu_tps);
      record.cpu_speedup.push_back(compiled_cpu_tps / float_cpu_tps);
      std::cerr << "round " << round + 1 << " " << record.name << ": float " << std::lround(float_tps)
                << " tokens/s, compiled " << std::lround(compiled_tps) << " tokens/s, x" << std::setprecision(3)
                << compiled_tps / float_tps << "; per CPU second x" << compiled_cpu_tps / float_cpu_tps << "\n";
    }
  }
}

// The variant's record, with what its rounds add up to.
nlohmann::json variant_json(const Variant& variant, int64_t checkpoint_bytes) {
  VariantRecord record = variant.record;
  record.smaller_by = static_cast<double>(checkpoint_bytes) / static_cast<double>(record.file_bytes);
  record.speedup_median = median(record.speedup);
  if (!record.speedup.empty()) {
    auto [low, high] = std::minmax_element(record.speedup.begin(), record.speedup.end());
    record.speedup_min = *low;
    record.speedup_max = *high;
  }
  record.cpu_speedup_median = median(record.cpu_speedup);
  return record;
}

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(digits) << value;
  return text.str();
}

std::string markdown_table(const nlohmann::json& report) {
  std::ostringstream table;
  table << "| model | file (MB) | of which Linear weights (KB) | smaller than float32 | float32 tokens/s | compiled tokens/s | faster (median, min–max) "
           "| agreement | accuracy simulated / compiled | Linears: int8 / int16 / float |\n";
  table << "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& v : report.at("variants")) {
    int int8 = 0, int16 = 0, floats = 0;
    for (const auto& [engine, count] : v.at("engines").items()) {
      (engine.starts_with("int8") ? int8 : engine.starts_with("int16") ? int16 : floats) += count.get<int>();
    }
    table << "| " << v.at("name").get<std::string>() << " | " << fixed(v.at("file_bytes").get<double>() / 1e6, 2)
          << " | " << fixed(v.at("linear_weight_bytes").get<double>() / 1e3, 1) << " | " << fixed(v.at("smaller_by").get<double>(), 2) << "x | "
          << std::lround(median(v.at("float_tokens_per_second").get<std::vector<double>>())) << " | "
          << std::lround(median(v.at("compiled_tokens_per_second").get<std::vector<double>>())) << " | "
          << fixed(v.at("speedup_median").get<double>(), 2) << "x (" << fixed(v.at("speedup_min").get<double>(), 2)
          << "–" << fixed(v.at("speedup_max").get<double>(), 2) << ") | "
          << fixed(100.0 * v.at("agreement").at("agreement").get<double>(), 2) << "% | "
          << fixed(100.0 * v.at("simulated_accuracy").get<double>(), 2) << " / "
          << fixed(100.0 * v.at("compiled_accuracy").get<double>(), 2) << " | " << int8 << " / " << int16 << " / " << floats
          << " |\n";
  }
  return table.str();
}

// Two figures per group, each rising from left to right so that gnuplot's
// key (bottom right) stays clear of the points: file size in MB, and
// evaluation time per token relative to float32 (the inverse of the speed-up).
void draw_figures(const nlohmann::json& report, const std::string& group, const std::string& x_label,
                  const std::string& title, const fs::path& base) {
  whittle::report::Series size{"compiled model file", {}};
  whittle::report::Series time{"compiled model (median of the rounds)", {}};
  for (const auto& v : report.at("variants")) {
    if (v.at("group") != group) continue;
    const double x = v.at("x").get<double>();
    size.points.emplace_back(x, v.at("file_bytes").get<double>() / 1e6);
    time.points.emplace_back(x, 1.0 / v.at("speedup_median").get<double>());
  }
  if (size.points.empty()) return;
  std::vector<double> ticks;
  for (const auto& point : size.points) ticks.push_back(point.first);
  const double checkpoint_mb = report.at("float_checkpoint_bytes").get<double>() / 1e6;
  whittle::report::LinePlot size_plot;
  size_plot.title = title + ": file size";
  size_plot.x_label = x_label;
  size_plot.y_label = "MB (float32 checkpoint: " + fixed(checkpoint_mb, 2) + " MB)";
  size_plot.series = {size};
  size_plot.x_ticks = ticks;
  size_plot.references = {{"float32 checkpoint / 3.5 (the 8-bit target)", checkpoint_mb / 3.5}};
  whittle::report::draw(size_plot, fs::path(base.string() + "-size"));

  whittle::report::LinePlot time_plot;
  time_plot.title = title + ": evaluation time per token";
  time_plot.x_label = x_label;
  time_plot.y_label = "relative to float32 LibTorch (lower is faster)";
  time_plot.series = {time};
  time_plot.x_ticks = ticks;
  time_plot.references = {{"float32", 1.0}, {"1 / 1.5 (the 8-bit target)", 1.0 / 1.5}};
  whittle::report::draw(time_plot, fs::path(base.string() + "-time"));
}

void write_results(const nlohmann::json& report, const fs::path& out) {
  fs::create_directories(out);
  whittle::write_file_atomically(out / "results.json", report.dump(2) + "\n");
  std::ostringstream csv;
  csv << "name,group,x,file_bytes,linear_weight_bytes,smaller_by,speedup_median,speedup_min,speedup_max,agreement,simulated_accuracy,"
         "compiled_accuracy\n";
  for (const auto& v : report.at("variants")) {
    csv << v.at("name").get<std::string>() << "," << v.at("group").get<std::string>() << "," << v.at("x") << ","
        << v.at("file_bytes") << "," << v.at("linear_weight_bytes") << "," << v.at("smaller_by") << "," << v.at("speedup_median") << "," << v.at("speedup_min")
        << "," << v.at("speedup_max") << "," << v.at("agreement").at("agreement") << "," << v.at("simulated_accuracy")
        << "," << v.at("compiled_accuracy") << "\n";
  }
  whittle::write_file_atomically(out / "results.csv", csv.str());
  whittle::write_file_atomically(out / "table.md", markdown_table(report));
  draw_figures(report, "width", "fixed-point width (bits) of every Linear's input, weight and bias (PTQ)",
               "Compiled BERT-Tiny", out / "widths");
  const std::string pruned_axis = report.at("prune_activations").get<bool>()
                                      ? "weight and input sparsity (L1, per layer), 8-bit"
                                      : "weight sparsity (L1, per layer), 8-bit";
  draw_figures(report, "pruned", pruned_axis, "Compiled pruned 8-bit BERT-Tiny", out / "pruned");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Size and evaluation throughput of compiled integer models against float32 LibTorch"};
  Options options;
  app.add_option("--float", options.float_dir, "the float32 checkpoint")->capture_default_str();
  app.add_option("--data", options.data, "IMDb (aclImdb_v1.tar.gz, or the sample)")->capture_default_str();
  app.add_option("--limit", options.limit, "balanced slice of the test split")->capture_default_str();
  app.add_option("--max-length", options.max_length)->capture_default_str();
  app.add_option("--batch-size", options.batch_size)->capture_default_str();
  app.add_option("--widths", options.widths, "PTQ widths to compile, comma-separated (empty: none)")->capture_default_str();
  app.add_option("--sparsities", options.sparsities, "L1 weight sparsities of the 8-bit model (empty: none)")
      ->capture_default_str();
  app.add_flag("--prune-activations", options.prune_activations,
               "prune the Linear inputs too (Mase's lab; local L1 then needs every position of the last layer)");
  app.add_option("--models", options.models, "checkpoint directories to compile as they are, comma-separated");
  app.add_option("--embedding-bits", options.embedding_bits, "word embedding storage: 8, 16 or 32")->capture_default_str();
  app.add_option("--position-embedding-bits", options.position_embedding_bits)->capture_default_str();
  app.add_option("--rounds", options.rounds)->capture_default_str();
  app.add_option("--threads", options.threads)->capture_default_str();
  app.add_option("--out", options.out, "write results.json, results.csv, table.md and figures here");
  CLI11_PARSE(app, argc, argv);
  try {
    whittle::configure_runtime(options.threads);
    const std::string load_before = load_average();
    auto tokenizer_files = whittle::text::read_tokenizer_files(options.float_dir);
    auto tokenizer = whittle::text::Tokenizer::load(options.float_dir);
    auto slice = load_slice(options, tokenizer);
    auto baseline = float_model(options);
    std::vector<Variant> variants = build_variants(options, tokenizer_files, slice);
    time_rounds(variants, baseline, options, slice);

    const auto checkpoint_bytes = static_cast<int64_t>(fs::file_size(fs::path(options.float_dir) / "model.safetensors"));
    nlohmann::json report = static_cast<const RecordedOptions&>(options);
    report["float_checkpoint"] = options.float_dir;
    report["float_checkpoint_bytes"] = checkpoint_bytes;
    report["reviews"] = slice.size();
    report["tokens"] = slice.total_tokens();
    report["kernel_isa"] = whittle::deploy::to_string(whittle::deploy::best_kernel_isa());
    report["load_average_before"] = load_before;
    report["load_average_after"] = load_average();
    report["variants"] = nlohmann::json::array();
    for (const Variant& variant : variants) report["variants"].push_back(variant_json(variant, checkpoint_bytes));
    std::cout << markdown_table(report) << "\nload average before " << load_before << ", after "
              << report.at("load_average_after").get<std::string>() << " (1, 5, 15 min)\n";
    if (!options.out.empty()) write_results(report, options.out);
  } catch (const std::exception& error) {
    std::cerr << "integer_inference: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
