#include "model/reinitialize.h"

#include "util/error.h"
#include "util/hash.h"

namespace whittle::model {
namespace {

std::vector<std::string> parameter_names(torch::nn::Module& module, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& item : module.named_parameters()) names.push_back(prefix + "." + item.key());
  return names;
}

}  // namespace

std::vector<std::string> reinitialize_top_layers(BertForSequenceClassification& model, const ReinitRequest& request) {
  auto& layers = model->bert->encoder->layers;
  int64_t layer_count = static_cast<int64_t>(layers.size());
  if (request.top_layers < 0 || request.top_layers > layer_count) {
    throw Error("cannot re-initialise the top " + std::to_string(request.top_layers) + " layers: the model has " +
                std::to_string(layer_count) + (layer_count == 1 ? " encoder layer" : " encoder layers"));
  }
  // One generator for every module, so query and key get different draws;
  // its seed is mixed so that the draws do not repeat those of the fresh
  // pooler and classifier, which come from the same run seed.
  auto generator = at::detail::createCPUGenerator(splitmix64(request.seed));
  std::vector<std::string> replaced;
  auto reinitialize = [&](torch::nn::Module& module, const std::string& name) {
    initialize_bert_weights(module, model->config(), generator);
    auto names = parameter_names(module, name);
    replaced.insert(replaced.end(), names.begin(), names.end());
  };
  for (int64_t index = layer_count - request.top_layers; index < layer_count; ++index) {
    std::string name = "bert.encoder.layer." + std::to_string(index);
    auto& layer = layers[index];
    if (request.scope == ReinitScope::layer) {
      reinitialize(*layer, name);
    } else {
      auto& self = layer->attention->self;
      reinitialize(*self->query, name + ".attention.self.query");
      reinitialize(*self->key, name + ".attention.self.key");
    }
  }
  return replaced;
}

}  // namespace whittle::model
