// whittle's side of the ONNX Runtime comparison on IMDb: the batches `whittle
// eval` forms (longest reviews first, padded to multiples of 32) and the
// logits the simulated model gives for each. scripts/onnx/agreement.mjs feeds
// the same batches, padding included, to an exported model: an l1-norm input
// mask's quantile covers its whole padded batch, so regrouping rows would
// change the logits.
//
//   build/onnx_reference --from MODEL --data aclImdb_v1.tar.gz --out DIR
//                        [--split test] [--limit 0] [--batch-size 32] [--max-length 512] [--threads 2]
//
// Writes, all little-endian:
//   DIR/batches.bin  per batch: int64 rows, int64 length, int64 input_ids[rows*length],
//                    int64 attention_mask[rows*length], int64 labels[rows]
//   DIR/logits.bin   float32 [examples, num_labels], rows in batch order
//   DIR/reference.json  the model, data, accuracy and counts
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "data/imdb.h"
#include "data/tokenized.h"
#include "experiments/compressed_model.h"
#include "text/tokenizer.h"
#include "train/evaluate.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/runtime.h"

namespace fs = std::filesystem;

namespace {

struct Arguments {
  std::string from, data, out, split = "test";
  int64_t limit = 0, batch_size = 32, max_length = 512;
  int threads = 2;
};

void append_tensor(std::string& bytes, const torch::Tensor& tensor, torch::ScalarType type) {
  torch::Tensor values = tensor.to(type).contiguous();
  const auto* data = static_cast<const char*>(values.data_ptr());
  bytes.append(data, static_cast<size_t>(values.numel() * values.element_size()));
}

void append_int64(std::string& bytes, int64_t value) { append_tensor(bytes, torch::tensor({value}), torch::kInt64); }

whittle::data::TokenizedDataset load_data(const Arguments& arguments, const fs::path& tokenizer_dir) {
  const auto split = arguments.split == "train" ? whittle::data::Split::train : whittle::data::Split::test;
  if (arguments.split != "train" && arguments.split != "test") {
    throw whittle::Error("--split must be train or test, got " + arguments.split);
  }
  auto tokenizer = whittle::text::Tokenizer::load(tokenizer_dir);
  auto reviews = whittle::data::balanced_subset(whittle::data::read_imdb(arguments.data, split), arguments.limit, 0);
  return whittle::data::tokenize_reviews_cached(reviews, tokenizer, arguments.max_length,
                                                whittle::data::default_cache_dir());
}

void run(const Arguments& arguments) {
  whittle::configure_runtime(arguments.threads);
  const fs::path from(arguments.from);
  auto model = whittle::experiments::load_compressed(from, 0).model;
  const auto dataset = load_data(arguments, from);
  std::string batches, logits;
  int64_t batch_count = 0;
  auto record = [&](const whittle::data::Batch& batch) {
    torch::Tensor batch_logits = model->forward(batch.input_ids, batch.attention_mask);
    append_int64(batches, batch.input_ids.size(0));
    append_int64(batches, batch.input_ids.size(1));
    append_tensor(batches, batch.input_ids, torch::kInt64);
    append_tensor(batches, batch.attention_mask, torch::kInt64);
    append_tensor(batches, batch.labels, torch::kInt64);
    append_tensor(logits, batch_logits, torch::kFloat32);
    ++batch_count;
    return batch_logits;
  };
  torch::NoGradGuard no_grad;
  model->eval();
  const whittle::train::EvalResult result = whittle::train::evaluate_batches(
      record, model->config(), dataset, {arguments.batch_size, 32}, "reference", std::cerr);
  const fs::path out(arguments.out);
  fs::create_directories(out);
  whittle::write_file_atomically(out / "batches.bin", batches);
  whittle::write_file_atomically(out / "logits.bin", logits);
  const nlohmann::json summary = {{"model", fs::absolute(from).lexically_normal().string()},
                                  {"data", arguments.data},
                                  {"split", arguments.split},
                                  {"limit", arguments.limit},
                                  {"max_length", arguments.max_length},
                                  {"batch_size", arguments.batch_size},
                                  {"batches", batch_count},
                                  {"examples", result.examples},
                                  {"num_labels", model->config().num_labels},
                                  {"accuracy", result.accuracy}};
  whittle::write_file_atomically(out / "reference.json", summary.dump(2) + "\n");
  std::cout << summary.dump() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("whittle's batches and logits on IMDb, for the ONNX Runtime comparison");
  Arguments arguments;
  app.add_option("--from", arguments.from, "compressed checkpoint directory")->required();
  app.add_option("--data", arguments.data, "aclImdb_v1.tar.gz")->required();
  app.add_option("--out", arguments.out, "directory for batches.bin, logits.bin, reference.json")->required();
  app.add_option("--split", arguments.split, "train or test")->capture_default_str();
  app.add_option("--limit", arguments.limit, "balanced subset (0 = all)")->capture_default_str();
  app.add_option("--batch-size", arguments.batch_size, "as whittle eval's")->capture_default_str();
  app.add_option("--max-length", arguments.max_length, "tokens per review, [CLS] and [SEP] included")->capture_default_str();
  app.add_option("--threads", arguments.threads, "intra-op threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    run(arguments);
  } catch (const std::exception& error) {
    std::cerr << "onnx_reference: error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
