#include "experiments/mixed/model_pool.h"

#include "experiments/compressed_model.h"
#include "experiments/mixed/quant_targets.h"
#include "passes/quantize/quantize_pass.h"
#include "util/error.h"

namespace whittle::experiments {
namespace {

void remove_measurement_transforms(model::BertForSequenceClassification& model) {
  passes::remove_quantization(*model);
  for (auto& [name, linear] : model::find_linears(*model)) linear->detach(OneTensorQuantizeImpl::kKind);
}

}  // namespace

ModelPool::ModelPool(std::filesystem::path checkpoint, uint64_t seed) : checkpoint_(std::move(checkpoint)), seed_(seed) {
  model::BertForSequenceClassification first = load();
  for (auto& [name, linear] : model::find_linears(*first)) {
    if (!linear->transforms().empty()) {
      throw Error("the mixed-precision search starts from a float model, but " + checkpoint_.string() + " has a '" +
                  linear->transforms().front()->kind() + "' transform on " + name);
    }
    linears_.push_back(name);
    counts_[QuantTarget{name, TensorRole::weight}.key()] = linear->weight.numel();
    counts_[QuantTarget{name, TensorRole::bias}.key()] = linear->bias.numel();
  }
  idle_.push_back(std::move(first));
}

model::BertForSequenceClassification ModelPool::load() const { return load_compressed(checkpoint_, seed_).model; }

ModelPool::Lease ModelPool::take() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    if (!idle_.empty()) {
      model::BertForSequenceClassification model = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(model));
    }
  }
  return Lease(*this, load());
}

void ModelPool::give_back(model::BertForSequenceClassification model) {
  remove_measurement_transforms(model);
  std::lock_guard<std::mutex> guard(lock_);
  idle_.push_back(std::move(model));
}

ModelPool::Lease::~Lease() {
  if (pool_ != nullptr && !model_.is_empty()) pool_->give_back(std::move(model_));
}

train::EvalResult evaluate_formats(ModelPool& pool, const MixedFormats& formats, const data::TokenizedDataset& dataset,
                                   const train::EvalOptions& eval, std::ostream& log) {
  ModelPool::Lease lease = pool.take();
  passes::quantize_pass(lease.model(), by_name_config(pool.linears(), formats));
  return train::evaluate(lease.model(), dataset, eval, log);
}

}  // namespace whittle::experiments
