// What data-parallel training sends per step, and how long summing it takes
// between ranks on this machine (threads of one process, each with its own
// Gloo group over loopback TCP, as separate processes would be).
//
// For a classifier of --config it builds the gradients the trainer sums each
// step: every trainable tensor but the word embedding in the trainer's 1 MB
// buckets (timed without a backward pass to overlap with), plus
// the word-embedding rows of the global batch's distinct tokens. The number
// of distinct tokens per global batch is measured on IMDb (--data, batch
// --batch-size, 512 tokens) unless --rows gives it. It times --steps sums and
// prints one JSON line: bytes per step (dense part, rows, and the dense
// embedding a plain all-reduce would send) and milliseconds per step.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "data/imdb.h"
#include "data/tokenized.h"
#include "model/bert_config.h"
#include "model/classifier_io.h"
#include "support/bench_support.h"
#include "text/tokenizer.h"
#include "train/data_parallel.h"
#include "train/gradient_buckets.h"

namespace fs = std::filesystem;
using whittle::train::DataParallel;

namespace {

struct Arguments {
  std::string config = std::string(WHITTLE_SOURCE_DIR) + "/assets/bert-tiny/config.json";
  std::string data;
  int64_t rows = 0;
  int64_t batch_size = 8;
  int ranks = 2;
  int steps = 20;
  uint16_t port = 29650;
};

// Mean distinct token ids per global batch of shuffled IMDb train reviews.
double distinct_tokens_per_batch(const fs::path& source, int64_t batch_size) {
  auto tokenizer = whittle::text::Tokenizer::load(fs::path(WHITTLE_SOURCE_DIR) / "assets" / "bert-base-uncased");
  auto reviews = whittle::data::balanced_subset(whittle::data::read_imdb(source, whittle::data::Split::train), 4000, 0);
  auto dataset = whittle::data::tokenize_reviews_cached(reviews, tokenizer, 512, whittle::data::default_cache_dir());
  std::vector<int64_t> order(dataset.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(0));
  double total = 0.0;
  int64_t batches = 0;
  for (std::size_t start = 0; start + batch_size <= order.size(); start += batch_size, ++batches) {
    std::set<int32_t> distinct;
    for (int64_t i = 0; i < batch_size; ++i) {
      const auto& ids = dataset.ids[order[start + i]];
      distinct.insert(ids.begin(), ids.end());
    }
    total += static_cast<double>(distinct.size());
  }
  return total / static_cast<double>(batches);
}

struct RankTimes {
  double dense_ms = 0.0, rows_ms = 0.0, dense_embedding_ms = 0.0;
};

RankTimes time_rank(int rank, const Arguments& arguments, const whittle::model::BertConfig& config, int64_t rows) {
  whittle::train::Rendezvous rendezvous{{rank, arguments.ranks, "bench"}, "127.0.0.1", arguments.port, std::chrono::seconds(120)};
  DataParallel group(rendezvous);
  auto model = whittle::model::new_classifier(config, 0);
  torch::Tensor embedding = model->bert->embeddings->word_embeddings->weight.detach().clone();
  std::vector<torch::Tensor> dense;
  for (auto& parameter : model->parameters()) {
    if (!parameter.is_same(model->bert->embeddings->word_embeddings->weight)) dense.push_back(parameter);
  }
  // The trainer's buckets; with no backward in between, every gradient
  // counts as zeros and all buckets start at the end of the step.
  whittle::train::GradientBuckets buckets(group, dense);
  // Each rank holds a random half of the batch's rows, as slices of one batch do.
  torch::Tensor local_rows = torch::randperm(config.vocab_size, torch::kInt64).narrow(0, 0, rows / arguments.ranks + 1);
  RankTimes times;
  auto time_ms = [&](const std::function<void()>& step) {
    step();  // warm-up: connections, buffers
    auto start = whittle::bench::Clock::now();
    for (int s = 0; s < arguments.steps; ++s) step();
    return whittle::bench::seconds_since(start) * 1000.0 / arguments.steps;
  };
  times.dense_ms = time_ms([&] {
    buckets.start_step();
    buckets.finish_step();
  });
  times.rows_ms = time_ms([&] { group.sum_rows(embedding, group.union_of(local_rows)); });
  times.dense_embedding_ms = time_ms([&] { group.sum({embedding}); });
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bytes and time per step of data-parallel gradient sums on this machine"};
  Arguments arguments;
  app.add_option("--config", arguments.config, "BERT config.json")->capture_default_str();
  app.add_option("--data", arguments.data, "IMDb tarball, to measure distinct tokens per batch");
  app.add_option("--rows", arguments.rows, "distinct tokens per global batch (instead of measuring)");
  app.add_option("--batch-size", arguments.batch_size, "global batch")->capture_default_str();
  app.add_option("--ranks", arguments.ranks, "ranks (threads, one Gloo group each)")->capture_default_str();
  app.add_option("--steps", arguments.steps, "timed steps")->capture_default_str();
  app.add_option("--port", arguments.port, "rendezvous port")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    auto config = whittle::model::load_bert_config(arguments.config);
    double rows = arguments.rows > 0 ? static_cast<double>(arguments.rows)
                                     : distinct_tokens_per_batch(arguments.data, arguments.batch_size);
    std::vector<RankTimes> times(arguments.ranks);
    std::vector<std::thread> threads;
    at::set_num_threads(1);
    for (int rank = 0; rank < arguments.ranks; ++rank) {
      threads.emplace_back([&, rank] {
        at::set_num_threads(1);
        times[rank] = time_rank(rank, arguments, config, static_cast<int64_t>(rows));
      });
    }
    for (auto& thread : threads) thread.join();
    auto model = whittle::model::new_classifier(config, 0);
    int64_t parameters = 0;
    for (auto& parameter : model->parameters()) parameters += parameter.numel();
    const int64_t embedding = config.vocab_size * config.hidden_size;
    nlohmann::json out = {{"config", arguments.config},
                          {"ranks", arguments.ranks},
                          {"parameters", parameters},
                          {"distinct_tokens_per_batch", rows},
                          {"dense_bytes", (parameters - embedding) * 4},
                          {"row_bytes", static_cast<int64_t>(rows) * config.hidden_size * 4},
                          {"dense_embedding_bytes", embedding * 4},
                          {"dense_ms", times[0].dense_ms},
                          {"rows_ms", times[0].rows_ms},
                          {"dense_embedding_ms", times[0].dense_embedding_ms}};
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& error) {
    std::cerr << "allreduce_cost: " << error.what() << "\n";
    return 1;
  }
}
