#include "experiments/mixed/frac_choice.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "util/error.h"

namespace whittle::experiments {
namespace {

// Fractional bits a parameter may have beyond its width: enough for values
// down to 2^-24 of the largest representable, far below any BERT weight.
constexpr int64_t kParameterFracHeadroom = 24;
constexpr int64_t kHighestFrac = 127;

double squared_error(const torch::Tensor& values, int64_t width, int64_t frac) {
  return (passes::fixed_point_quantize(values, width, frac) - values).square().sum().item<double>();
}

// Sums, over every input a Linear is given, the squared error of each
// candidate format; the layer computes in float.
class InputErrorRecorderImpl : public model::LinearTransformImpl {
 public:
  static constexpr const char* kKind = "input-error-recorder";
  explicit InputErrorRecorderImpl(const std::vector<int64_t>& widths) {
    for (int64_t width : widths) {
      FracRange range = frac_range(TensorRole::input, width);
      errors_[width].assign(static_cast<size_t>(range.highest - range.lowest + 1), 0.0);
    }
  }
  std::string kind() const override { return kKind; }
  nlohmann::json describe() const override { return {{"recorder", "input error"}}; }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    torch::Tensor values = input.detach().to(torch::kFloat32).contiguous();
    for (auto& [width, sums] : errors_) {
      FracRange range = frac_range(TensorRole::input, width);
      for (int64_t frac = range.lowest; frac <= range.highest; ++frac) {
        sums[static_cast<size_t>(frac - range.lowest)] += squared_error(values, width, frac);
      }
    }
    return input;
  }
  int64_t best_frac(int64_t width) const {
    const std::vector<double>& sums = errors_.at(width);
    auto best = std::min_element(sums.begin(), sums.end());
    return frac_range(TensorRole::input, width).lowest + (best - sums.begin());
  }

 private:
  std::map<int64_t, std::vector<double>> errors_;
};
TORCH_MODULE(InputErrorRecorder);

}  // namespace

FracRange frac_range(TensorRole role, int64_t width) {
  if (role == TensorRole::input) return {0, width};
  return {0, std::min(kHighestFrac, width + kParameterFracHeadroom)};
}

int64_t least_error_frac(const torch::Tensor& values, int64_t width, FracRange range) {
  torch::Tensor flat = values.detach().to(torch::kFloat32).contiguous();
  int64_t best = range.lowest;
  double best_error = std::numeric_limits<double>::infinity();
  for (int64_t frac = range.lowest; frac <= range.highest; ++frac) {
    double error = squared_error(flat, width, frac);
    if (error < best_error) best = frac, best_error = error;
  }
  return best;
}

FracTable choose_fracs(model::BertForSequenceClassification& model, const std::vector<int64_t>& widths,
                       const data::TokenizedDataset& calibration, const train::EvalOptions& eval) {
  torch::NoGradGuard no_grad;
  FracTable table;
  std::vector<std::pair<std::string, InputErrorRecorder>> recorders;
  for (auto& [name, linear] : model::find_linears(*model)) {
    for (int64_t width : widths) {
      table[QuantTarget{name, TensorRole::weight}.key()][width] =
          least_error_frac(linear->weight, width, frac_range(TensorRole::weight, width));
      table[QuantTarget{name, TensorRole::bias}.key()][width] =
          least_error_frac(linear->bias, width, frac_range(TensorRole::bias, width));
    }
    recorders.emplace_back(name, InputErrorRecorder(widths));
    linear->attach(recorders.back().second.ptr());
  }
  std::ostringstream quiet;
  try {
    train::evaluate(model, calibration, eval, quiet);
  } catch (...) {
    for (auto& [name, linear] : model::find_linears(*model)) linear->detach(InputErrorRecorderImpl::kKind);
    throw;
  }
  for (auto& [name, linear] : model::find_linears(*model)) linear->detach(InputErrorRecorderImpl::kKind);
  for (const auto& [name, recorder] : recorders) {
    for (int64_t width : widths) table[QuantTarget{name, TensorRole::input}.key()][width] = recorder->best_frac(width);
  }
  return table;
}

nlohmann::json to_json(const FracTable& table) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, by_width] : table) {
    for (const auto& [width, frac] : by_width) json[key][std::to_string(width)] = frac;
  }
  return json;
}

FracTable frac_table_from_json(const nlohmann::json& json) {
  FracTable table;
  for (const auto& [key, by_width] : json.items()) {
    for (const auto& [width, frac] : by_width.items()) table[key][std::stoll(width)] = frac.get<int64_t>();
  }
  return table;
}

}  // namespace whittle::experiments
