#include "model/bert_mlm.h"

#include <algorithm>
#include <array>

#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::model {
namespace fs = std::filesystem;

namespace {

constexpr const char* kHeadPrefix = "cls.predictions.";

// Logit rows formed at once: [64, 30522] floats is 8 MB, which the
// following passes (softmax, the two products) find in cache.
constexpr int64_t kRowsPerChunk = 64;

struct LinearCrossEntropyGradients {
  torch::Tensor input, weight, bias;
};

// The summed loss; with `gradients`, also fills in those of the mean loss.
double chunked_cross_entropy(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                             const torch::Tensor& targets, LinearCrossEntropyGradients* gradients) {
  const int64_t rows = input.size(0);
  if (gradients != nullptr) {
    gradients->input = torch::empty_like(input);
    gradients->weight = torch::zeros_like(weight);
    gradients->bias = torch::zeros_like(bias);
  }
  double loss_sum = 0.0;
  for (int64_t start = 0; start < rows; start += kRowsPerChunk) {
    const int64_t count = std::min(kRowsPerChunk, rows - start);
    torch::Tensor chunk_input = input.narrow(0, start, count);
    torch::Tensor chunk_targets = targets.narrow(0, start, count).unsqueeze(1);
    torch::Tensor logits = torch::addmm(bias, chunk_input, weight.t());
    torch::Tensor log_normaliser = logits.logsumexp(1, /*keepdim=*/true);
    loss_sum += (log_normaliser - logits.gather(1, chunk_targets)).sum().item<double>();
    if (gradients == nullptr) continue;
    // d(mean loss)/d(logits) = (softmax − one-hot) / rows, formed in place.
    torch::Tensor gradient = logits.sub_(log_normaliser).exp_();
    gradient.scatter_add_(1, chunk_targets, torch::full({count, 1}, -1.0, gradient.options()));
    gradient.mul_(1.0 / static_cast<double>(rows));
    torch::Tensor input_rows = gradients->input.narrow(0, start, count);
    torch::mm_out(input_rows, gradient, weight);
    gradients->weight.addmm_(gradient.t(), chunk_input);
    gradients->bias.add_(gradient.sum(0));
  }
  return loss_sum;
}

double mean_over(double sum, int64_t rows) { return rows > 0 ? sum / static_cast<double>(rows) : 0.0; }

class LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& targets) {
    LinearCrossEntropyGradients gradients;
    double loss_sum = chunked_cross_entropy(input, weight, bias, targets, &gradients);
    context->saved_data["input"] = gradients.input;
    context->saved_data["weight"] = gradients.weight;
    context->saved_data["bias"] = gradients.bias;
    return torch::tensor(mean_over(loss_sum, input.size(0)), input.options());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list output_gradients) {
    const torch::Tensor& scale = output_gradients[0];
    return {context->saved_data["input"].toTensor() * scale, context->saved_data["weight"].toTensor() * scale,
            context->saved_data["bias"].toTensor() * scale, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& targets) {
  if (input.dim() != 2 || weight.dim() != 2 || input.size(1) != weight.size(1) || bias.size(0) != weight.size(0) ||
      targets.dim() != 1 || targets.size(0) != input.size(0)) {
    throw Error("linear_cross_entropy: input [M, H], weight [V, H], bias [V] and targets [M] do not fit");
  }
  const bool differentiable = torch::GradMode::is_enabled() &&
                              (input.requires_grad() || weight.requires_grad() || bias.requires_grad());
  if (!differentiable) {
    return torch::tensor(mean_over(chunked_cross_entropy(input, weight, bias, targets, nullptr), input.size(0)),
                         input.options());
  }
  return LinearCrossEntropyFunction::apply(input.contiguous(), weight, bias, targets);
}

BertEncoderStackImpl::BertEncoderStackImpl(const BertConfig& config) {
  embeddings = register_module("embeddings", BertEmbeddings(config));
  encoder = register_module("encoder", BertEncoder(config));
}

torch::Tensor BertEncoderStackImpl::encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                           SeedSequence* dropout_seeds) {
  torch::Tensor hidden = embeddings(input_ids, dropout_seeds);
  return encoder(hidden, AttentionMask::from(attention_mask), dropout_seeds, /*cls_only=*/false);
}

BertPredictionHeadTransformImpl::BertPredictionHeadTransformImpl(const BertConfig& config) {
  dense = register_module("dense", Linear(config.hidden_size, config.hidden_size));
  layer_norm = register_module(
      "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
}

torch::Tensor BertPredictionHeadTransformImpl::forward(const torch::Tensor& hidden) {
  return layer_norm(torch::gelu(dense(hidden)));  // exact (erf) GELU: config hidden_act "gelu"
}

BertLMPredictionHeadImpl::BertLMPredictionHeadImpl(const BertConfig& config) {
  transform = register_module("transform", BertPredictionHeadTransform(config));
  bias = register_parameter("bias", torch::zeros({config.vocab_size}));
}

torch::Tensor BertLMPredictionHeadImpl::forward(const torch::Tensor& hidden, const torch::Tensor& decoder_weight) {
  return torch::addmm(bias, transform(hidden), decoder_weight.t());
}

BertOnlyMLMHeadImpl::BertOnlyMLMHeadImpl(const BertConfig& config) {
  predictions = register_module("predictions", BertLMPredictionHead(config));
}

BertForMaskedLMImpl::BertForMaskedLMImpl(const BertConfig& config) : config_(config) {
  bert = register_module("bert", BertEncoderStack(config));
  cls = register_module("cls", BertOnlyMLMHead(config));
}

torch::Tensor BertForMaskedLMImpl::logits_at(const torch::Tensor& hidden, const torch::Tensor& flat_positions) {
  torch::Tensor rows = hidden.reshape({-1, hidden.size(-1)}).index_select(0, flat_positions);
  return cls->predictions(rows, decoder_weight());
}

MaskedLmOutput BertForMaskedLMImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                            const torch::Tensor& labels, SeedSequence* dropout_seeds) {
  if (labels.sizes() != input_ids.sizes()) throw Error("MLM labels must have the shape of the input ids");
  torch::Tensor flat_labels = labels.reshape({-1});
  torch::Tensor positions = flat_labels.ne(kNotPredicted).nonzero().squeeze(1);
  torch::Tensor hidden = bert->encode(input_ids, attention_mask, dropout_seeds);
  MaskedLmOutput output;
  output.targets = flat_labels.index_select(0, positions);
  output.logits = logits_at(hidden, positions);
  // With nothing to predict the mean is undefined; zero keeps a step harmless.
  output.loss = positions.numel() > 0 ? torch::cross_entropy_loss(output.logits, output.targets)
                                      : output.logits.sum();
  return output;
}

torch::Tensor BertForMaskedLMImpl::loss(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                        const torch::Tensor& labels, SeedSequence* dropout_seeds) {
  if (labels.sizes() != input_ids.sizes()) throw Error("MLM labels must have the shape of the input ids");
  torch::Tensor flat_labels = labels.reshape({-1});
  torch::Tensor positions = flat_labels.ne(kNotPredicted).nonzero().squeeze(1);
  torch::Tensor hidden = bert->encode(input_ids, attention_mask, dropout_seeds);
  torch::Tensor rows = hidden.reshape({-1, hidden.size(-1)}).index_select(0, positions);
  return linear_cross_entropy(cls->predictions->transform(rows), decoder_weight(), cls->predictions->bias,
                              flat_labels.index_select(0, positions));
}

BertForMaskedLM new_masked_lm(const BertConfig& config, uint64_t seed) {
  BertForMaskedLM model(config);
  initialize_bert_weights(*model, config, seed);
  return model;
}

nlohmann::json masked_lm_config_json(const BertConfig& config) {
  nlohmann::json json = to_json(config);
  // Classification keys (kept from a classifier's config) mean nothing to a
  // masked LM; fine-tuning writes them again.
  for (const char* key : {"num_labels", "id2label", "label2id", "problem_type"}) json.erase(key);
  json["architectures"] = nlohmann::json::array({"BertForMaskedLM"});
  json["tie_word_embeddings"] = true;
  return json;
}

TensorMap masked_lm_tensors(const BertForMaskedLM& model) { return collect_tensors(*model); }

void assign_masked_lm_tensors(BertForMaskedLM& model, const TensorMap& tensors, const std::string& origin) {
  bool has_head = std::any_of(tensors.begin(), tensors.end(),
                              [](const auto& item) { return item.first.starts_with(kHeadPrefix); });
  if (!has_head) {
    throw Error(origin + " has no masked-LM head (cls.predictions.*): it is not a BertForMaskedLM or "
                         "BertForPreTraining checkpoint");
  }
  assign_tensors(*model, tensors, {});
}

BertForMaskedLM load_masked_lm(const fs::path& dir) {
  Checkpoint checkpoint = load_checkpoint(dir);
  BertForMaskedLM model(checkpoint.config);
  assign_masked_lm_tensors(model, checkpoint.tensors, "checkpoint " + dir.string());
  return model;
}

void save_masked_lm(const fs::path& dir, const BertForMaskedLM& model, const nlohmann::json& whittle,
                    const fs::path& tokenizer_dir) {
  // Everything is serialised before the first file changes, so that a bad
  // tensor or config leaves the directory as it was.
  const std::string config_text = masked_lm_config_json(model->config()).dump(2) + "\n";
  const std::string weights = serialize_safetensors(masked_lm_tensors(model));
  fs::create_directories(dir);
  write_file_atomically(dir / Checkpoint::config_file, config_text);
  write_file_atomically(dir / Checkpoint::weights_file, weights);
  if (!tokenizer_dir.empty()) copy_tokenizer_files(tokenizer_dir, dir);
  if (!whittle.is_null() && !whittle.empty()) write_file_atomically(dir / Checkpoint::whittle_file, whittle.dump(2) + "\n");
}

}  // namespace whittle::model
