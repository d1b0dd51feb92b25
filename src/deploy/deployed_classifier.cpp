#include "deploy/deployed_classifier.h"

#include <cmath>

#include "model/multi_head_attention.h"

namespace whittle::deploy {
namespace {

DeployedLinear make_linear(const CompiledModel& model, const std::string& name, KernelIsa isa) {
  return DeployedLinear(model.linears.at(name), model.tensor(name + ".weight"), model.tensor(name + ".bias"), isa);
}

}  // namespace

DeployedClassifier::DeployedClassifier(const CompiledModel& model, KernelIsa isa)
    : config_(model.config), cls_only_last_layer_(model.cls_only_last_layer) {
  model.validate("the compiled model");
  torch::NoGradGuard no_grad;
  embeddings_ = model::BertEmbeddings(config_);
  embeddings_->eval();
  embeddings_->word_embeddings->weight.copy_(model.tensor("bert.embeddings.word_embeddings.weight").to_float());
  embeddings_->position_embeddings->weight.copy_(model.tensor("bert.embeddings.position_embeddings.weight").to_float());
  embeddings_->token_type_embeddings->weight.copy_(model.tensor("bert.embeddings.token_type_embeddings.weight").to_float());
  embeddings_->layer_norm->weight.copy_(model.tensor("bert.embeddings.LayerNorm.weight").to_float());
  embeddings_->layer_norm->bias.copy_(model.tensor("bert.embeddings.LayerNorm.bias").to_float());

  auto norm = [&](const std::string& name) {
    return LayerNormWeights{model.tensor(name + ".weight").to_float(), model.tensor(name + ".bias").to_float()};
  };
  layers_.reserve(static_cast<size_t>(config_.num_hidden_layers));
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string prefix = "bert.encoder.layer." + std::to_string(i) + ".";
    layers_.push_back(Layer{make_linear(model, prefix + "attention.self.query", isa),
                            make_linear(model, prefix + "attention.self.key", isa),
                            make_linear(model, prefix + "attention.self.value", isa),
                            make_linear(model, prefix + "attention.output.dense", isa),
                            make_linear(model, prefix + "intermediate.dense", isa),
                            make_linear(model, prefix + "output.dense", isa),
                            norm(prefix + "attention.output.LayerNorm"),
                            norm(prefix + "output.LayerNorm")});
    layers_.back().query_scaled = layers_.back().query.fold_output_factor(query_factor());
  }
  pooler_.emplace(make_linear(model, "bert.pooler.dense", isa));
  classifier_.emplace(make_linear(model, "classifier", isa));
}

std::vector<std::pair<std::string, std::string>> DeployedClassifier::engines() const {
  // In the order of linear_names: per layer Q, K, V, attention output,
  // intermediate, output; then the pooler and the classifier.
  std::vector<const DeployedLinear*> in_order;
  for (const Layer& layer : layers_) {
    for (const DeployedLinear* linear : {&layer.query, &layer.key, &layer.value, &layer.attention_output,
                                         &layer.intermediate, &layer.output}) {
      in_order.push_back(linear);
    }
  }
  in_order.push_back(&*pooler_);
  in_order.push_back(&*classifier_);
  std::vector<std::string> names = linear_names(config_);
  std::vector<std::pair<std::string, std::string>> engines;
  for (size_t i = 0; i < names.size(); ++i) engines.emplace_back(names[i], in_order[i]->engine());
  return engines;
}

double DeployedClassifier::query_factor() const {
  return 1.0 / std::sqrt(static_cast<double>(config_.hidden_size / config_.num_attention_heads));
}

torch::Tensor DeployedClassifier::layer_norm(const torch::Tensor& x, const LayerNormWeights& norm) const {
  return torch::layer_norm(x, {config_.hidden_size}, norm.weight, norm.bias, config_.layer_norm_eps);
}

// As BertSelfAttentionImpl::forward in inference mode, with the same attention after the projections.
torch::Tensor DeployedClassifier::self_attention(Layer& layer, const torch::Tensor& queries, const torch::Tensor& hidden,
                                                 const model::AttentionMask& mask) {
  // The queries share the hidden states' quantization unless they are the [CLS] rows alone.
  const bool queries_are_hidden = queries.size(1) == hidden.size(1);
  std::vector<DeployedLinear*> from_hidden = {&layer.key, &layer.value};
  if (queries_are_hidden) from_hidden.insert(from_hidden.begin(), &layer.query);
  std::vector<torch::Tensor> projected = DeployedLinear::forward_shared(from_hidden, hidden);
  torch::Tensor scaled_queries = queries_are_hidden ? projected.front() : layer.query.forward(queries);
  if (!layer.query_scaled) scaled_queries = scaled_queries * query_factor();
  const torch::Tensor& keys = projected[projected.size() - 2];
  const torch::Tensor& values = projected.back();
  return model::multi_head_attention(scaled_queries, keys, values, mask, config_.num_attention_heads);
}

// As BertLayerImpl::forward in inference mode.
torch::Tensor DeployedClassifier::layer_forward(Layer& layer, const torch::Tensor& hidden,
                                                const model::AttentionMask& mask, bool cls_only) {
  torch::Tensor queries = cls_only ? hidden.narrow(1, 0, 1) : hidden;
  torch::Tensor context = self_attention(layer, queries, hidden, mask);
  torch::Tensor attended = layer_norm(layer.attention_output.forward(context) + queries, layer.attention_norm);
  return layer_norm(feed_forward(layer, attended) + attended, layer.output_norm);
}

// output(gelu(intermediate(x))). With both Linears on integer kernels and no
// mask on the GELU output (which may need a statistic of all of it), a block
// of rows at a time: the [B, L, intermediate] activations, the largest
// tensor of the model, then stay in cache.
torch::Tensor DeployedClassifier::feed_forward(Layer& layer, const torch::Tensor& attended) {
  const IntegerLinear* up = layer.intermediate.integer();
  const IntegerLinear* down = layer.output.integer();
  if (up == nullptr || down == nullptr || layer.output.prunes_input()) {
    return layer.output.forward(torch::gelu(layer.intermediate.forward(attended)));
  }
  auto gelu_in_place = [](torch::Tensor& tile) { torch::gelu_(tile); };
  return IntegerLinear::forward_chain(*up, gelu_in_place, *down, layer.intermediate.prune_input(attended));
}

torch::Tensor DeployedClassifier::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  c10::InferenceMode inference;
  torch::Tensor hidden = embeddings_->forward(input_ids, nullptr);
  model::AttentionMask mask = model::AttentionMask::from(attention_mask);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const bool last = i + 1 == layers_.size();
    hidden = layer_forward(layers_[i], hidden, mask, cls_only_last_layer_ && last);
  }
  torch::Tensor pooled = torch::tanh(pooler_->forward(hidden.select(1, 0)));
  return classifier_->forward(pooled);
}

}  // namespace whittle::deploy
