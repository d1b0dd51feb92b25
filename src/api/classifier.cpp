#include "whittle/classifier.h"

#include <algorithm>
#include <functional>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "data/batching.h"
#include "deploy/compiled_model.h"
#include "deploy/deployed_classifier.h"
#include "deploy/model_file.h"
#include "experiments/compressed_model.h"
#include "text/tokenizer.h"
#include "train/evaluate.h"
#include "util/runtime.h"

namespace whittle {
namespace fs = std::filesystem;

namespace {

using Forward = std::function<torch::Tensor(const torch::Tensor& input_ids, const torch::Tensor& attention_mask)>;

// LibTorch reports some failures (shapes, allocation) as c10::Error; the
// library promises whittle::Error only, with the message the CLI prints.
template <typename Work>
auto translating_errors(Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const c10::Error& error) {
    throw Error(error.what_without_backtrace());
  }
}


// A model opened from either kind of file, reduced to what classifying needs.
struct OpenedModel {
  text::Tokenizer tokenizer;
  model::BertConfig config;
  std::string engine;
  Forward forward;
};

text::Tokenizer tokenizer_or(const ClassifierOptions& options, const fs::path& saved_with_model) {
  return text::Tokenizer::load(options.tokenizer_dir.empty() ? saved_with_model : options.tokenizer_dir);
}

OpenedModel open_checkpoint(const fs::path& dir, const ClassifierOptions& options) {
  model::LoadedClassifier loaded = experiments::load_compressed(dir, options.seed);
  loaded.model->eval();
  std::shared_ptr<model::BertForSequenceClassificationImpl> network = loaded.model.ptr();
  Forward forward = [network](const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    torch::NoGradGuard no_grad;
    return network->forward(input_ids, attention_mask);
  };
  return {tokenizer_or(options, dir), network->config(), "simulated", std::move(forward)};
}

OpenedModel open_compiled(const fs::path& file, const ClassifierOptions& options) {
  deploy::CompiledModel compiled = deploy::read_compiled_model(file);
  auto engine = std::make_shared<deploy::DeployedClassifier>(compiled);
  Forward forward = [engine](const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
    return engine->forward(input_ids, attention_mask);
  };
  text::Tokenizer tokenizer = options.tokenizer_dir.empty() ? deploy::make_tokenizer(compiled.tokenizer)
                                                            : text::Tokenizer::load(options.tokenizer_dir);
  return {std::move(tokenizer), compiled.config, "integer", std::move(forward)};
}

// The options with max_length resolved against the model, or an error
// naming the one that is out of range.
ClassifierOptions checked(ClassifierOptions options, const model::BertConfig& config) {
  if (options.batch_size < 1) throw Error("batch_size must be at least 1, got " + std::to_string(options.batch_size));
  if (options.max_length == 0) options.max_length = config.max_position_embeddings;
  if (options.max_length < 3) {
    throw Error("max_length must be at least 3 ([CLS], a token, [SEP]), got " + std::to_string(options.max_length));
  }
  if (options.max_length > config.max_position_embeddings) {
    throw Error("max_length " + std::to_string(options.max_length) + " is longer than the model's " +
                "max_position_embeddings (" + std::to_string(config.max_position_embeddings) + ")");
  }
  return options;
}

Prediction prediction_of(const torch::Tensor& logits_row) {
  Prediction prediction;
  const torch::Tensor probabilities = torch::softmax(logits_row, 0);
  const float* logits = logits_row.data_ptr<float>();
  const float* probability = probabilities.data_ptr<float>();
  const int64_t classes = logits_row.size(0);
  prediction.logits.assign(logits, logits + classes);
  prediction.probabilities.assign(probability, probability + classes);
  prediction.label = std::max_element(prediction.logits.begin(), prediction.logits.end()) - prediction.logits.begin();
  return prediction;
}

}  // namespace

struct Classifier::State {
  OpenedModel model;
  ClassifierOptions options;
};

Classifier Classifier::open(const fs::path& path, const ClassifierOptions& options) {
  return translating_errors([&] {
    if (!fs::exists(path)) throw Error("model " + path.string() + " does not exist");
    OpenedModel model = fs::is_directory(path) ? open_checkpoint(path, options) : open_compiled(path, options);
    const ClassifierOptions resolved = checked(options, model.config);
    return Classifier(std::make_unique<State>(State{std::move(model), resolved}));
  });
}

Classifier::Classifier(std::unique_ptr<State> state) : state_(std::move(state)) {}
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

std::vector<int32_t> Classifier::tokenize(const std::string& text) const {
  return state_->model.tokenizer.encode(text, state_->options.max_length);
}

std::vector<Prediction> Classifier::classify(const std::vector<std::string>& texts) {
  return translating_errors([&] {
    std::vector<Prediction> predictions;
    predictions.reserve(texts.size());
    const auto batch_size = static_cast<size_t>(state_->options.batch_size);
    for (size_t first = 0; first < texts.size(); first += batch_size) {
      data::TokenizedDataset batch_texts;
      std::vector<int64_t> rows;
      for (size_t i = first; i < std::min(texts.size(), first + batch_size); ++i) {
        rows.push_back(static_cast<int64_t>(batch_texts.ids.size()));
        batch_texts.ids.push_back(tokenize(texts[i]));
        batch_texts.labels.push_back(0);  // unused: make_batch carries labels for training
      }
      // Padded as `whittle eval` pads, so that activation-pruned models see the batches they see there.
      const data::Batch batch = data::make_batch(batch_texts, rows, state_->model.tokenizer.pad_id(),
                                                 train::EvalOptions{}.length_multiple,
                                                 state_->model.config.max_position_embeddings);
      const torch::Tensor logits = state_->model.forward(batch.input_ids, batch.attention_mask).to(torch::kFloat32).contiguous();
      for (int64_t row = 0; row < logits.size(0); ++row) predictions.push_back(prediction_of(logits[row].contiguous()));
    }
    return predictions;
  });
}

int64_t Classifier::num_labels() const { return state_->model.config.num_labels; }

const std::string& Classifier::engine() const { return state_->model.engine; }

void set_threads(int threads) {
  if (threads < 0) throw Error("threads must not be negative, got " + std::to_string(threads));
  configure_runtime(threads);
}

}  // namespace whittle
