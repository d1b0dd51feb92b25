#include "experiments/sweep_baseline.h"

#include "experiments/compressed_model.h"
#include "experiments/model_size.h"
#include "experiments/train_with_evaluation.h"

namespace whittle::experiments {

nlohmann::json evaluate_baseline(const std::filesystem::path& base_model, uint64_t seed,
                                 const data::TokenizedDataset& test_set, const train::EvalOptions& eval,
                                 std::ostream& log) {
  auto loaded = load_compressed(base_model, seed);
  report::BaselinePoint point{evaluation_record(train::evaluate(loaded.model, test_set, eval, log)),
                              to_json(measure_model_size(loaded.model))};
  return point;
}

}  // namespace whittle::experiments
