// Throughput of every workload of the lab, on the same real-data subset, in
// one run: tokens/s as the lab counts them (EpochReport / EvalResult: real,
// unpadded tokens over the loop's wall time), each workload's ratio to float,
// and the GFLOP/s it achieves as a share of this machine's fp32 GEMM peak,
// measured in the same run with torch::mm at the same thread count.
//
// Workloads (BERT-Tiny classifier, the lab's trainer and evaluator, batch
// sizes, max length and dynamic padding from configs/lab1.toml):
//   float_eval, float_train    the base model as loaded
//   ptq_eval                   quantize_pass at 8 bits (frac 4), every Linear
//   qat_train, qat_eval        that model trained, then evaluated
//   random_eval, random_train  the QAT model pruned as the lab's prune sweep
//   l1_eval, l1_train          does it (sparsity 0.5, local, weights and
//                              activations), evaluated, then fine-tuned
//   unmasked_full_eval         the QAT model, no pruning, its last layer over
//                              every position: what l1_eval computes, without masks
// The pruned models start from the QAT model of the same round, saved and
// loaded back with save_compressed/load_compressed as the lab hands it over.
// Multiply-adds are counted analytically (bench/support/lab_flops.h states
// the rule, and the output repeats it). With --rounds N every workload runs N
// times, in turn, and the medians are reported.
//
//   build/lab_throughput [--data aclImdb_v1.tar.gz] [--train-limit 2000] [--test-limit 1000]
//                        [--model DIR] [--threads 2] [--rounds 1] [--out DIR]
// Without --data it uses the IMDb sample in assets/.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "data/imdb.h"
#include "experiments/compressed_model.h"
#include "experiments/lab_config.h"
#include "experiments/train_with_evaluation.h"
#include "passes/prune/prune_pass.h"
#include "passes/quantize/quantize_pass.h"
#include "support/bench_support.h"
#include "support/lab_flops.h"
#include "text/tokenizer.h"
#include "util/atomic_file.h"
#include "util/runtime.h"

#ifndef WHITTLE_SOURCE_DIR
#define WHITTLE_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using whittle::bench::Clock;
using whittle::bench::seconds_since;

struct Arguments {
  fs::path source_dir = WHITTLE_SOURCE_DIR;
  std::string data, model, out, lab_config;
  int64_t train_limit = 2000, test_limit = 1000, width = 8;
  double sparsity = 0.5;
  int threads = 2, rounds = 1;
};

struct LabData {
  whittle::data::TokenizedDataset train, test;
  fs::path tokenizer_dir;
};

// As `whittle lab` reads its data (cli::load_split): a balanced subset of
// each split, tokenized through the same on-disk cache.
LabData load_data(const Arguments& arguments, const whittle::experiments::LabConfig& lab, const fs::path& model_dir) {
  fs::path source =
      arguments.data.empty() ? arguments.source_dir / "assets" / "imdb-sample.tar.gz" : fs::path(arguments.data);
  LabData data;
  data.tokenizer_dir = fs::exists(model_dir / "vocab.txt") ? model_dir : arguments.source_dir / "assets" / "bert-base-uncased";
  auto tokenizer = whittle::text::Tokenizer::load(data.tokenizer_dir);
  auto split = [&](whittle::data::Split which, int64_t limit) {
    auto reviews = whittle::data::balanced_subset(whittle::data::read_imdb(source, which), limit, lab.data.seed);
    auto dataset = whittle::data::tokenize_reviews_cached(reviews, tokenizer, lab.data.max_length,
                                                          whittle::data::default_cache_dir());
    std::cerr << whittle::data::split_name(which) << ": " << dataset.size() << " reviews, " << dataset.total_tokens()
              << " tokens, from " << source.string() << "\n";
    return dataset;
  };
  data.train = split(whittle::data::Split::train, arguments.train_limit);
  data.test = split(whittle::data::Split::test, arguments.test_limit);
  return data;
}

// Best GFLOP/s of torch::mm on [m, k] x [k, n] over `repeats` calls, after a
// warm-up call; the output buffer is reused so that only the product is timed.
double best_gemm_gflops(int64_t m, int64_t k, int64_t n, int repeats) {
  auto generator = at::detail::createCPUGenerator(0);  // leaves torch's default generator alone
  torch::Tensor a = at::randn({m, k}, generator, torch::kFloat32);
  torch::Tensor b = at::randn({k, n}, generator, torch::kFloat32);
  torch::Tensor c = torch::empty({m, n});
  torch::mm_out(c, a, b);
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    torch::mm_out(c, a, b);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * static_cast<double>(m * k * n) / best / 1e9;
}

json measure_gemm() {
  return {{"square_2048_gflops", best_gemm_gflops(2048, 2048, 2048, 5)},
          {"bert_tiny_4096x128x512_gflops", best_gemm_gflops(8 * 512, 128, 512, 20)}};
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

struct Measurement {
  double seconds = 0, tokens_per_second = 0, cpu_seconds = 0, multiply_adds = 0;
  int64_t batches = 0;
  std::optional<double> accuracy;
  std::string last_layer;

  double gflops() const { return 2.0 * multiply_adds / seconds / 1e9; }
};

json to_json(const Measurement& m) {
  json out = {{"seconds", m.seconds},         {"tokens_per_second", m.tokens_per_second},
              {"cpu_seconds", m.cpu_seconds}, {"multiply_adds", m.multiply_adds},
              {"gflops", m.gflops()},         {"batches", m.batches},
              {"last_layer", m.last_layer}};
  if (m.accuracy) out["accuracy"] = *m.accuracy;
  return out;
}

using Model = whittle::model::BertForSequenceClassification;

// One epoch of the lab's trainer; tokens/s and seconds are its EpochReport's.
Measurement measure_training(Model& model, const whittle::data::TokenizedDataset& train_set,
                             const whittle::train::TrainOptions& options) {
  auto last = whittle::bench::last_layer_work(model, true);
  auto plan = whittle::bench::training_plan(train_set, options, 1);
  Measurement m;
  m.multiply_adds = whittle::bench::training_multiply_adds(train_set, plan, model->config(), options, last);
  m.batches = static_cast<int64_t>(plan.size());
  m.last_layer = whittle::bench::to_string(last);
  whittle::train::TrainOptions one_epoch = options;
  one_epoch.epochs = 1;
  double cpu_start = whittle::process_cpu_seconds();
  auto reports = whittle::train::train_classifier(model, train_set, one_epoch, nullptr, std::cerr);
  m.cpu_seconds = whittle::process_cpu_seconds() - cpu_start;
  m.seconds = reports.front().seconds;
  m.tokens_per_second = reports.front().tokens_per_second;
  return m;
}

// The lab's evaluator over the test subset; tokens/s and seconds are its EvalResult's.
Measurement measure_evaluation(Model& model, const whittle::data::TokenizedDataset& test_set,
                               const whittle::train::EvalOptions& options) {
  auto last = whittle::bench::last_layer_work(model, false);
  auto plan = whittle::bench::evaluation_plan(test_set, options);
  Measurement m;
  m.multiply_adds = whittle::bench::evaluation_multiply_adds(test_set, plan, model->config(), options, last);
  m.batches = static_cast<int64_t>(plan.size());
  m.last_layer = whittle::bench::to_string(last);
  double cpu_start = whittle::process_cpu_seconds();
  auto result = whittle::train::evaluate(model, test_set, options, std::cerr);
  m.cpu_seconds = whittle::process_cpu_seconds() - cpu_start;
  m.seconds = result.seconds;
  m.tokens_per_second = result.tokens_per_second;
  m.accuracy = result.accuracy;
  return m;
}

// Workload name → its measurement in each round.
using Results = std::map<std::string, std::vector<Measurement>>;

struct RoundSetup {
  const Arguments& arguments;
  const whittle::experiments::LabConfig& lab;
  const LabData& data;
  fs::path model_dir, qat_dir;
  whittle::train::EvalOptions eval;
};

// Every workload once, in the lab's order: float, PTQ, QAT, then pruning of
// the QAT model; unmasked_full_eval runs right before l1_eval, which it is
// compared with.
void run_round(const RoundSetup& setup, int round, Results& results) {
  auto run = [&](const std::string& name, const std::function<Measurement()>& measure) {
    std::cerr << "[round " << round + 1 << "/" << setup.arguments.rounds << "] " << name << "\n";
    results[name].push_back(measure());
  };
  const auto& lab = setup.lab;
  const auto& data = setup.data;
  auto base = whittle::experiments::load_compressed(setup.model_dir, lab.qat.seed).model;
  run("float_eval", [&] { return measure_evaluation(base, data.test, setup.eval); });
  run("float_train", [&] { return measure_training(base, data.train, lab.qat); });

  auto quantized = whittle::experiments::load_compressed(setup.model_dir, lab.qat.seed).model;
  whittle::passes::quantize_pass(quantized, whittle::passes::uniform_quantize_config(setup.arguments.width));
  run("ptq_eval", [&] { return measure_evaluation(quantized, data.test, setup.eval); });
  run("qat_train", [&] { return measure_training(quantized, data.train, lab.qat); });
  run("qat_eval", [&] { return measure_evaluation(quantized, data.test, setup.eval); });
  whittle::experiments::save_compressed(setup.qat_dir, quantized, {{"lab_throughput", "QAT model of one round"}},
                                        data.tokenizer_dir);

  for (auto method : {whittle::passes::PruneMethod::random, whittle::passes::PruneMethod::l1_norm}) {
    const std::string prefix = method == whittle::passes::PruneMethod::random ? "random" : "l1";
    if (method == whittle::passes::PruneMethod::l1_norm) {
      auto unmasked = whittle::experiments::load_compressed(setup.qat_dir, lab.prune_finetune.seed).model;
      unmasked->set_cls_only_last_layer(false);
      run("unmasked_full_eval", [&] { return measure_evaluation(unmasked, data.test, setup.eval); });
    }
    auto pruned = whittle::experiments::load_compressed(setup.qat_dir, lab.prune_finetune.seed).model;
    auto config = whittle::passes::uniform_prune_config(setup.arguments.sparsity, method,
                                                        whittle::passes::PruneScope::local, lab.prune_activations);
    whittle::passes::prune_pass(pruned, config, lab.prune_finetune.seed);
    run(prefix + "_eval", [&] { return measure_evaluation(pruned, data.test, setup.eval); });
    run(prefix + "_train", [&] { return measure_training(pruned, data.train, lab.prune_finetune); });
  }
}

// The first workload would otherwise also pay for what every later one
// reuses (the OpenMP pool, the allocator's buffers, lazy initialisation):
// a short untimed run of training and evaluation on the first reviews.
void warm_up(const RoundSetup& setup) {
  auto first = [](const whittle::data::TokenizedDataset& dataset, int64_t count) {
    whittle::data::TokenizedDataset slice;
    count = std::min(count, dataset.size());
    slice.ids.assign(dataset.ids.begin(), dataset.ids.begin() + count);
    slice.labels.assign(dataset.labels.begin(), dataset.labels.begin() + count);
    return slice;
  };
  std::cerr << "warm-up (untimed)\n";
  auto model = whittle::experiments::load_compressed(setup.model_dir, setup.lab.qat.seed).model;
  whittle::train::train_classifier(model, first(setup.data.train, 8 * setup.lab.qat.batch_size), setup.lab.qat,
                                   nullptr, std::cerr);
  whittle::train::evaluate(model, first(setup.data.test, 2 * setup.eval.batch_size), setup.eval, std::cerr);
}

double median(std::vector<double> values) { return whittle::bench::range_of(std::move(values)).median; }

// Median over rounds of a / b, each round's a over the same round's b.
double median_ratio(const Results& results, const std::string& a, const std::string& b) {
  std::vector<double> ratios;
  for (size_t i = 0; i < results.at(a).size(); ++i) {
    ratios.push_back(results.at(a)[i].tokens_per_second / results.at(b)[i].tokens_per_second);
  }
  return median(ratios);
}

struct Target {
  std::string description;
  double measured;
  double bound;
  bool at_most;  // the measured value must be <= bound (else >=)
  std::vector<std::string> workloads;  // what it is measured on

  bool met() const { return at_most ? measured <= bound : measured >= bound; }
};

std::vector<Target> targets(const Results& results, double float_train_share) {
  double l1_overhead = 1.0 - median_ratio(results, "l1_eval", "unmasked_full_eval");
  auto ratio = [&](const std::string& a, const std::string& b) { return median_ratio(results, a, b); };
  return {{"QAT train / float train tokens/s", ratio("qat_train", "float_train"), 0.95, false, {"qat_train", "float_train"}},
          {"PTQ eval / float eval tokens/s", ratio("ptq_eval", "float_eval"), 0.95, false, {"ptq_eval", "float_eval"}},
          {"QAT eval / float eval tokens/s", ratio("qat_eval", "float_eval"), 0.95, false, {"qat_eval", "float_eval"}},
          {"random-pruned train / QAT train tokens/s", ratio("random_train", "qat_train"), 0.85, false,
           {"random_train", "qat_train"}},
          {"L1-pruned train / QAT train tokens/s", ratio("l1_train", "qat_train"), 0.85, false, {"l1_train", "qat_train"}},
          {"L1 eval mask overhead, 1 - l1_eval / unmasked_full_eval", l1_overhead, 0.15, true,
           {"l1_eval", "unmasked_full_eval"}},
          {"float train GFLOP/s / fp32 GEMM peak", float_train_share, 0.60, false, {"float_train"}}};
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

// The QAT model handed to the pruned workloads lives here, removed however main ends.
struct TemporaryDirectory {
  fs::path path = fs::temp_directory_path() / ("whittle-lab-throughput-" + std::to_string(getpid()));
  TemporaryDirectory() = default;
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Throughput of every workload of the lab on one real-data subset, against float and the fp32 GEMM peak"};
  Arguments arguments;
  app.add_option("--data", arguments.data, "IMDb: aclImdb_v1.tar.gz or the aclImdb folder (default: the shipped sample)");
  app.add_option("--train-limit", arguments.train_limit, "balanced training subset")->capture_default_str();
  app.add_option("--test-limit", arguments.test_limit, "balanced test subset")->capture_default_str();
  app.add_option("--model", arguments.model, "base classifier (default: the lab config's base.model)");
  app.add_option("--lab-config", arguments.lab_config, "lab config for batch sizes and length (default: configs/lab1.toml)");
  app.add_option("--width", arguments.width, "fixed-point width (frac = width / 2)")->capture_default_str();
  app.add_option("--sparsity", arguments.sparsity)->capture_default_str();
  app.add_option("--threads", arguments.threads)->capture_default_str();
  app.add_option("--rounds", arguments.rounds, "runs of every workload; medians are reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--out", arguments.out, "folder for results.json and results.md");
  CLI11_PARSE(app, argc, argv);
  whittle::configure_runtime(arguments.threads);
  const std::string load_at_start = load_average();

  fs::path config_path = arguments.lab_config.empty() ? arguments.source_dir / "configs" / "lab1.toml"
                                                      : fs::path(arguments.lab_config);
  auto lab = whittle::experiments::load_lab_config(config_path, "");
  fs::path model_dir = arguments.model.empty() ? lab.base.model : fs::path(arguments.model);
  LabData data = load_data(arguments, lab, model_dir);
  TemporaryDirectory qat_dir;
  whittle::train::EvalOptions eval;  // the lab's: its batch size, the default length multiple
  eval.batch_size = lab.eval_batch_size;
  RoundSetup setup{arguments, lab, data, model_dir, qat_dir.path, eval};

  // The peak is measured before and after the workloads; the higher counts.
  json gemm_before = measure_gemm();
  Results results;
  warm_up(setup);
  auto start = Clock::now();
  for (int round = 0; round < arguments.rounds; ++round) run_round(setup, round, results);
  double workload_seconds = seconds_since(start);
  json gemm_after = measure_gemm();
  const double peak = std::max(gemm_before["square_2048_gflops"].get<double>(), gemm_after["square_2048_gflops"].get<double>());
  const std::string load_at_end = load_average();

  json report = {{"threads", arguments.threads},
                 {"rounds", arguments.rounds},
                 {"data", {{"source", arguments.data.empty() ? "assets/imdb-sample.tar.gz" : arguments.data},
                           {"train_reviews", data.train.size()}, {"train_tokens", data.train.total_tokens()},
                           {"test_reviews", data.test.size()}, {"test_tokens", data.test.total_tokens()},
                           {"max_length", lab.data.max_length}}},
                 {"model", model_dir.string()},
                 {"training_options", {{"float_and_qat", whittle::experiments::to_json(lab.qat)},
                                       {"pruned", whittle::experiments::to_json(lab.prune_finetune)},
                                       {"epochs_measured", 1}}},
                 {"train_batch_size", lab.qat.batch_size},
                 {"eval_batch_size", lab.eval_batch_size},
                 {"width", arguments.width},
                 {"frac_width", arguments.width / 2},
                 {"sparsity", arguments.sparsity},
                 {"load_average_1_5_15", {{"start", load_at_start}, {"end", load_at_end}}},
                 {"workload_seconds", workload_seconds},
                 {"threads_busy_threshold_for_shared_cores", 0.9 * arguments.threads},
                 {"gemm", {{"before", gemm_before}, {"after", gemm_after}, {"peak_gflops", peak}}},
                 {"flop_counting_rule", whittle::bench::counting_rule()}};

  std::ostringstream table;
  table << "| workload | last layer | batches | tokens/s | ratio to float | GFLOP/s | share of peak | CPU s / wall s | "
           "accuracy |\n|---|---|---|---|---|---|---|---|---|\n";
  double float_train_share = 0;
  // LibTorch's OpenMP threads spin while they wait, so a workload that had
  // the cores to itself keeps every thread busy (about 1.98 of 2 measured);
  // far less means another process held a core, and OpenMP's barriers then
  // stall the whole step: such a row is not comparable with the others.
  const double shared_below = 0.9 * arguments.threads;
  std::vector<std::string> shared;
  const std::vector<std::string> workloads = {"float_train", "qat_train",   "random_train", "l1_train",
                                               "float_eval",  "ptq_eval",    "qat_eval",     "random_eval",
                                               "l1_eval",     "unmasked_full_eval"};
  for (const auto& name : workloads) {
    const auto& rounds = results.at(name);
    bool training = name.ends_with("_train");
    std::vector<double> tps, gflops, cpu_share;
    for (const auto& m : rounds) {
      tps.push_back(m.tokens_per_second);
      gflops.push_back(m.gflops());
      cpu_share.push_back(m.cpu_seconds / m.seconds);
    }
    double ratio = median_ratio(results, name, training ? "float_train" : "float_eval");
    double share = median(gflops) / peak;
    if (name == "float_train") float_train_share = share;
    if (median(cpu_share) < shared_below) shared.push_back(name);
    json entry = {{"tokens_per_second", median(tps)},
                  {"ratio_to_float", ratio},
                  {"gflops", median(gflops)},
                  {"share_of_peak", share},
                  {"cpu_seconds_per_wall_second", median(cpu_share)},
                  {"cores_shared_with_other_processes", median(cpu_share) < shared_below},
                  {"rounds", json::array()}};
    for (const auto& m : rounds) entry["rounds"].push_back(to_json(m));
    report["workloads"][name] = entry;
    table << "| " << name << " | " << rounds.front().last_layer << " | " << rounds.front().batches << " | "
          << fixed(median(tps), 0) << " | " << fixed(ratio, 3) << " | " << fixed(median(gflops), 2) << " | "
          << fixed(100.0 * share, 1) << "% | " << fixed(median(cpu_share), 2)
          << (median(cpu_share) < shared_below ? " (shared)" : "") << " | "
          << (rounds.front().accuracy ? fixed(*rounds.front().accuracy, 4) : "") << " |\n";
  }

  std::ostringstream goals;
  goals << "| target | measured | bound | | cores shared |\n|---|---|---|---|---|\n";
  for (const auto& target : targets(results, float_train_share)) {
    std::string shared_inputs;
    for (const auto& name : target.workloads) {
      if (std::find(shared.begin(), shared.end(), name) != shared.end()) shared_inputs += (shared_inputs.empty() ? "" : ", ") + name;
    }
    goals << "| " << target.description << " | " << fixed(target.measured, 3) << " | " << (target.at_most ? "<= " : ">= ")
          << fixed(target.bound, 2) << " | " << (target.met() ? "met" : "not met") << " | "
          << (shared_inputs.empty() ? "no" : shared_inputs) << " |\n";
    report["targets"].push_back({{"target", target.description}, {"measured", target.measured},
                                 {"bound", target.bound}, {"at_most", target.at_most}, {"met", target.met()},
                                 {"workloads_on_shared_cores", shared_inputs}});
  }

  std::ostringstream markdown;
  markdown << "# Lab throughput\n\n"
           << data.train.size() << " train reviews (" << data.train.total_tokens() << " tokens), " << data.test.size()
           << " test reviews (" << data.test.total_tokens() << " tokens), max length " << lab.data.max_length
           << "; train batch " << lab.qat.batch_size << ", eval batch " << lab.eval_batch_size
           << "; one epoch per training workload, embeddings frozen: float/QAT "
           << (lab.qat.freeze_embeddings ? "yes" : "no") << ", pruned " << (lab.prune_finetune.freeze_embeddings ? "yes" : "no")
           << "; "
           << arguments.threads << " threads, " << arguments.rounds << " round(s), medians; width " << arguments.width
           << " (frac " << arguments.width / 2 << "), sparsity " << arguments.sparsity << ".\n\n"
           << "fp32 GEMM peak (torch::mm 2048^3, best of 5, before/after): "
           << fixed(gemm_before["square_2048_gflops"], 1) << " / " << fixed(gemm_after["square_2048_gflops"], 1)
           << " GFLOP/s; BERT-Tiny shape [4096,128]x[128,512]: " << fixed(gemm_before["bert_tiny_4096x128x512_gflops"], 1)
           << " / " << fixed(gemm_after["bert_tiny_4096x128x512_gflops"], 1) << " GFLOP/s. Load average (1/5/15 min) "
           << "at start: " << load_at_start << ", at end: " << load_at_end << ".\n\n"
           << table.str() << "\nTokens/s are the lab's own (real tokens over the loop's wall time); ratios are to "
           << "float_train for training and float_eval for evaluation. CPU s / wall s below " << fixed(shared_below, 2)
           << " (0.9 x threads) means other processes held the cores during that workload (marked shared): "
           << (shared.empty() ? "none was." : "its figures and every ratio or target involving it are not comparable.")
           << "\n\nFLOP counting: "
           << whittle::bench::counting_rule() << ".\n\n"
           << goals.str();
  std::cout << markdown.str() << std::flush;
  if (!arguments.out.empty()) {
    fs::create_directories(arguments.out);
    whittle::write_file_atomically(fs::path(arguments.out) / "results.json", report.dump(2) + "\n");
    whittle::write_file_atomically(fs::path(arguments.out) / "results.md", markdown.str());
  }
  return 0;
}
