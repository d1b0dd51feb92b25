#pragma once
#include <filesystem>
#include <iosfwd>
#include <mutex>
#include <string>
#include <vector>

#include "data/tokenized.h"
#include "experiments/mixed/mixed_config.h"
#include "model/bert.h"
#include "train/evaluate.h"

namespace whittle::experiments {

// Copies of one float model for measurements that run side by side: each
// measurement leases a copy, attaches what it measures, and the copy comes
// back without it. Copies are loaded from disk as they are first needed.
class ModelPool {
 public:
  // Throws whittle::Error when the checkpoint already carries transforms:
  // measurements against "everything else in float" need a float model.
  ModelPool(std::filesystem::path checkpoint, uint64_t seed);

  class Lease {
   public:
    Lease(ModelPool& pool, model::BertForSequenceClassification model) : pool_(&pool), model_(std::move(model)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), model_(std::move(other.model_)) { other.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    model::BertForSequenceClassification& model() { return model_; }

   private:
    ModelPool* pool_;
    model::BertForSequenceClassification model_;
  };

  Lease take();
  const std::vector<std::string>& linears() const { return linears_; }
  // Elements of every weight and bias, by target key.
  const std::map<std::string, int64_t>& parameter_counts() const { return counts_; }
  const std::filesystem::path& checkpoint() const { return checkpoint_; }

 private:
  model::BertForSequenceClassification load() const;
  void give_back(model::BertForSequenceClassification model);

  std::filesystem::path checkpoint_;
  uint64_t seed_;
  std::vector<std::string> linears_;
  std::map<std::string, int64_t> counts_;
  std::mutex lock_;
  std::vector<model::BertForSequenceClassification> idle_;
};

// The pool's model with every Linear quantized as `formats` says, on `dataset`.
train::EvalResult evaluate_formats(ModelPool& pool, const MixedFormats& formats, const data::TokenizedDataset& dataset,
                                   const train::EvalOptions& eval, std::ostream& log);

}  // namespace whittle::experiments
