#include "model/bert.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "model/multi_head_attention.h"
#include "util/error.h"

namespace whittle::model {
namespace {

torch::nn::LayerNorm make_layer_norm(const BertConfig& config) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps).elementwise_affine(true));
}

// Sets the input-statistic mode of some Linears, and puts them back in
// compute mode (dropping what they recorded) however the scope is left.
class InputStatisticScope {
 public:
  explicit InputStatisticScope(std::vector<Linear> linears) : linears_(std::move(linears)) {}
  ~InputStatisticScope() { set(InputStatisticMode::compute); }
  InputStatisticScope(const InputStatisticScope&) = delete;
  InputStatisticScope& operator=(const InputStatisticScope&) = delete;

  void set(InputStatisticMode mode) {
    for (auto& linear : linears_) linear->set_input_statistic_mode(mode);
  }

 private:
  std::vector<Linear> linears_;
};

// Tells some Linears that their inputs are the leading rows of inputs with
// `rows` rows, for as long as the scope lasts.
class WholeRowsScope {
 public:
  WholeRowsScope(std::vector<Linear> linears, int64_t rows) : linears_(std::move(linears)) {
    for (auto& linear : linears_) linear->set_whole_rows(rows);
  }
  ~WholeRowsScope() {
    for (auto& linear : linears_) linear->set_whole_rows(0);
  }
  WholeRowsScope(const WholeRowsScope&) = delete;
  WholeRowsScope& operator=(const WholeRowsScope&) = delete;

 private:
  std::vector<Linear> linears_;
};

// Dropout only while training, driven by the model's seed stream.
torch::Tensor maybe_dropout(const torch::Tensor& input, double probability, bool training,
                            SeedSequence* dropout_seeds) {
  if (!training || probability == 0.0 || dropout_seeds == nullptr) return input;
  return fast_dropout(input, probability, dropout_seeds->next());
}

}  // namespace

AttentionMask AttentionMask::from(const torch::Tensor& attention_mask) {
  AttentionMask mask;
  mask.key_lengths = right_padded_lengths(attention_mask);
  if (!mask.key_lengths.defined()) {
    torch::Tensor is_padding = attention_mask.eq(0).unsqueeze(1).unsqueeze(2);
    mask.additive = torch::zeros(is_padding.sizes(), torch::kFloat32)
                        .masked_fill_(is_padding, std::numeric_limits<float>::lowest());
  }
  return mask;
}

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& config) : dropout_(config.hidden_dropout_prob) {
  word_embeddings = register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size)));
  position_embeddings = register_module(
      "position_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(config.max_position_embeddings, config.hidden_size)));
  token_type_embeddings = register_module(
      "token_type_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(config.type_vocab_size, config.hidden_size)));
  layer_norm = register_module("LayerNorm", make_layer_norm(config));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, SeedSequence* dropout_seeds) {
  int64_t length = input_ids.size(1);
  // Single-segment inputs: token type 0 everywhere, so its row is a constant.
  torch::Tensor positional = position_embeddings->weight.narrow(0, 0, length) + token_type_embeddings->weight[0];
  torch::Tensor embedded = word_embeddings(input_ids) + positional;
  return maybe_dropout(layer_norm(embedded), dropout_, is_training(), dropout_seeds);
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& config)
    : heads_(config.num_attention_heads),
      head_size_(config.hidden_size / config.num_attention_heads),
      dropout_(config.attention_probs_dropout_prob) {
  query = register_module("query", Linear(config.hidden_size, config.hidden_size));
  key = register_module("key", Linear(config.hidden_size, config.hidden_size));
  value = register_module("value", Linear(config.hidden_size, config.hidden_size));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& queries, const torch::Tensor& hidden,
                                             const AttentionMask& mask, SeedSequence* dropout_seeds) {
  return attend(queries, project_keys_values(hidden), mask, dropout_seeds);
}

KeysValues BertSelfAttentionImpl::project_keys_values(const torch::Tensor& hidden) {
  return {key(hidden), value(hidden)};
}

torch::Tensor multi_head_attention(const torch::Tensor& scaled_queries, const torch::Tensor& keys,
                                   const torch::Tensor& values, const AttentionMask& mask, int64_t heads,
                                   const AttentionDropout& dropout) {
  if (mask.key_lengths.defined()) {
    double probability = dropout.training && dropout.seeds != nullptr ? dropout.probability : 0.0;
    uint64_t seed = probability > 0.0 ? dropout.seeds->next() : 0;
    return tiled_attention(scaled_queries, keys, values, mask.key_lengths, heads, probability, seed);
  }
  const int64_t batch = scaled_queries.size(0);
  const int64_t head_size = scaled_queries.size(2) / heads;
  auto split_heads = [&](const torch::Tensor& x) { return x.view({batch, x.size(1), heads, head_size}).transpose(1, 2); };
  torch::Tensor scores = torch::matmul(split_heads(scaled_queries), split_heads(keys).transpose(-1, -2));
  scores.add_(mask.additive);  // matmul keeps its inputs, not its output, for backward
  torch::Tensor probabilities =
      maybe_dropout(torch::softmax(scores, -1), dropout.probability, dropout.training, dropout.seeds);
  torch::Tensor context = torch::matmul(probabilities, split_heads(values));
  return context.transpose(1, 2).reshape({batch, scaled_queries.size(1), heads * head_size});
}

torch::Tensor BertSelfAttentionImpl::attend(const torch::Tensor& queries, const KeysValues& keys_values,
                                            const AttentionMask& mask, SeedSequence* dropout_seeds) {
  // Scaling the queries (B·Q·H values) is cheaper than scaling the scores (B·heads·Q·L).
  torch::Tensor scaled_queries = query(queries) * (1.0 / std::sqrt(static_cast<double>(head_size_)));
  return multi_head_attention(scaled_queries, keys_values.keys, keys_values.values, mask, heads_,
                              {dropout_, is_training(), dropout_seeds});
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in_features, const BertConfig& config)
    : dropout_(config.hidden_dropout_prob) {
  dense = register_module("dense", Linear(in_features, config.hidden_size));
  layer_norm = register_module("LayerNorm", make_layer_norm(config));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& hidden, const torch::Tensor& residual,
                                              SeedSequence* dropout_seeds) {
  torch::Tensor projected = maybe_dropout(dense(hidden), dropout_, is_training(), dropout_seeds);
  return layer_norm(projected + residual);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& config) {
  self = register_module("self", BertSelfAttention(config));
  output = register_module("output", BertResidualOutput(config.hidden_size, config));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& queries, const torch::Tensor& hidden,
                                         const AttentionMask& mask, SeedSequence* dropout_seeds) {
  return output(self(queries, hidden, mask, dropout_seeds), queries, dropout_seeds);
}

torch::Tensor BertAttentionImpl::attend(const torch::Tensor& queries, const KeysValues& keys_values,
                                        const AttentionMask& mask, SeedSequence* dropout_seeds) {
  return output(self->attend(queries, keys_values, mask, dropout_seeds), queries, dropout_seeds);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& config) {
  dense = register_module("dense", Linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& hidden) {
  return torch::gelu(dense(hidden));  // exact (erf) GELU, as BERT's "gelu"
}

BertLayerImpl::BertLayerImpl(const BertConfig& config) {
  attention = register_module("attention", BertAttention(config));
  intermediate = register_module("intermediate", BertIntermediate(config));
  output = register_module("output", BertResidualOutput(config.intermediate_size, config));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& hidden, const AttentionMask& mask,
                                     SeedSequence* dropout_seeds, bool cls_only) {
  std::optional<WholeRowsScope> whole_rows;
  if (cls_only) whole_rows.emplace(cls_row_linears(), hidden.size(1));
  torch::Tensor queries = cls_only ? hidden.narrow(1, 0, 1) : hidden;
  torch::Tensor attended = attention(queries, hidden, mask, dropout_seeds);
  return output(intermediate(attended), attended, dropout_seeds);
}

torch::Tensor BertLayerImpl::forward_as_last_layer(const torch::Tensor& hidden, const AttentionMask& mask,
                                                   SeedSequence* dropout_seeds, bool cls_only) {
  if (!cls_only) return forward(hidden, mask, dropout_seeds, false);
  return forward_cls_calibrated(hidden, mask, dropout_seeds);
}

std::vector<Linear> BertLayerImpl::cls_row_linears() const {
  return {attention->self->query, attention->output->dense, intermediate->dense, output->dense};
}

bool BertLayerImpl::cls_row_needs_calibration() const {
  auto linears = cls_row_linears();
  return std::any_of(linears.begin(), linears.end(),
                     [](const Linear& linear) { return linear->input_statistic_needs_every_row(); });
}

torch::Tensor BertLayerImpl::forward_cls_calibrated(const torch::Tensor& hidden, const AttentionMask& mask,
                                                    SeedSequence* dropout_seeds) {
  if (!cls_row_needs_calibration()) return forward(hidden, mask, dropout_seeds, true);
  if (!torch::GradMode::is_enabled()) {
    // Without gradients a calibration pass would cost all of the full
    // computation but the output product, and the full computation's [CLS]
    // row is exact where one recomputed alone may round differently.
    return forward(hidden, mask, dropout_seeds, false).narrow(1, 0, 1);
  }
  // The graph is built in the plain shortcut's order, so that gradients
  // accumulate in the same order, bit for bit.
  torch::Tensor cls_row = hidden.narrow(1, 0, 1);
  // Keys and values see every position in both passes: projected once, with gradients.
  KeysValues keys_values = attention->self->project_keys_values(hidden);
  InputStatisticScope statistics(cls_row_linears());
  {
    torch::NoGradGuard no_grad;
    statistics.set(InputStatisticMode::record);
    // The [CLS] pass below then draws the same dropout seeds as without
    // calibration. (A transform with a random stream of its own, such as
    // LoRA's dropout, does draw here: another realisation, equally distributed.)
    std::optional<SeedSequence> calibration_seeds;
    if (dropout_seeds != nullptr) calibration_seeds = *dropout_seeds;
    SeedSequence* seeds = calibration_seeds ? &*calibration_seeds : nullptr;
    torch::Tensor attended = attention->attend(hidden, keys_values, mask, seeds);
    // The output Linear's input is all the calibration needs of it: no product.
    output->dense->record_input_statistics(intermediate(attended));
  }
  statistics.set(InputStatisticMode::replay);
  torch::Tensor attended = attention->attend(cls_row, keys_values, mask, dropout_seeds);
  return output(intermediate(attended), attended, dropout_seeds);
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& config) {
  auto layer_list = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers.push_back(BertLayer(config));
    layer_list->push_back(layers.back());
  }
}

torch::Tensor BertEncoderImpl::forward(torch::Tensor hidden, const AttentionMask& mask,
                                       SeedSequence* dropout_seeds, bool cls_only) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    bool last = i + 1 == layers.size();
    hidden = last ? layers[i]->forward_as_last_layer(hidden, mask, dropout_seeds, cls_only)
                  : layers[i]->forward(hidden, mask, dropout_seeds);
  }
  return hidden;
}

BertPoolerImpl::BertPoolerImpl(const BertConfig& config) {
  dense = register_module("dense", Linear(config.hidden_size, config.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
  return torch::tanh(dense(hidden.select(1, 0)));  // the [CLS] position
}

BertModelImpl::BertModelImpl(const BertConfig& config) {
  embeddings = register_module("embeddings", BertEmbeddings(config));
  encoder = register_module("encoder", BertEncoder(config));
  pooler = register_module("pooler", BertPooler(config));
}

torch::Tensor BertModelImpl::encode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                    SeedSequence* dropout_seeds, bool cls_only) {
  torch::Tensor hidden = embeddings(input_ids, dropout_seeds);
  return encoder->forward(hidden, AttentionMask::from(attention_mask), dropout_seeds, cls_only);
}

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(const BertConfig& config,
                                                                     uint64_t dropout_seed)
    : config_(config), dropout_seeds_(dropout_seed) {
  bert = register_module("bert", BertModel(config));
  classifier = register_module("classifier", Linear(config.hidden_size, config.num_labels));
}

torch::Tensor BertForSequenceClassificationImpl::forward(const torch::Tensor& input_ids,
                                                         const torch::Tensor& attention_mask) {
  torch::Tensor hidden = bert->encode(input_ids, attention_mask, &dropout_seeds_, cls_only_last_layer_);
  torch::Tensor pooled = bert->pooler(hidden);
  pooled = maybe_dropout(pooled, config_.hidden_dropout_prob, is_training(), &dropout_seeds_);
  return classifier(pooled);
}

bool BertForSequenceClassificationImpl::last_layer_calibrates() const {
  return cls_only_last_layer_ && bert->encoder->layers.back()->cls_row_needs_calibration();
}

void initialize_bert_weights(torch::nn::Module& module, const BertConfig& config, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  initialize_bert_weights(module, config, generator);
}

void initialize_bert_weights(torch::nn::Module& module, const BertConfig& config, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_modules()) {
    auto& child = *item.value();
    if (auto* linear = dynamic_cast<LinearImpl*>(&child)) {
      linear->weight.normal_(0.0, config.initializer_range, generator);
      linear->bias.zero_();
    } else if (auto* embedding = dynamic_cast<torch::nn::EmbeddingImpl*>(&child)) {
      embedding->weight.normal_(0.0, config.initializer_range, generator);
    } else if (auto* norm = dynamic_cast<torch::nn::LayerNormImpl*>(&child)) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    }
  }
  // Hugging Face zeroes the padding row of the word embeddings.
  for (auto& item : module.named_modules()) {
    if (item.key().ends_with("word_embeddings")) {
      auto* embedding = dynamic_cast<torch::nn::EmbeddingImpl*>(item.value().get());
      if (embedding != nullptr && config.pad_token_id < embedding->weight.size(0)) {
        embedding->weight[config.pad_token_id].zero_();
      }
    }
  }
}

}  // namespace whittle::model
