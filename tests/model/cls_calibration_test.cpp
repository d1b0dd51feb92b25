#include <gtest/gtest.h>

#include "model/bert.h"
#include "model/classifier_io.h"
#include "util/error.h"
#include "support/tiny_bert.h"

namespace whittle::model {
namespace {

BertConfig tiny_config() { return test_support::tiny_bert_config({.hidden = 16, .intermediate = 32}); }

// Subtracts the mean of its whole input: every row's result depends on all
// rows, as activation pruning's quantile does. Counts its calls per mode.
class MeanShiftImpl : public LinearTransformImpl {
 public:
  std::string kind() const override { return "test_mean_shift"; }
  nlohmann::json describe() const override { return nlohmann::json::object(); }
  bool has_input_statistic() const override { return true; }
  void set_input_statistic_mode(InputStatisticMode mode) override {
    if (mode != InputStatisticMode::replay) recorded.reset();
    this->mode = mode;
  }
  torch::Tensor transform_input(const torch::Tensor& input) override {
    ++calls[static_cast<int>(mode)];
    if (fail_in_replay && mode == InputStatisticMode::replay) throw Error("test failure in replay");
    float mean = 0.0f;
    if (mode == InputStatisticMode::replay) {
      mean = recorded.value();
    } else {
      mean = input.detach().mean().item<float>();
      if (mode == InputStatisticMode::record) recorded = mean;
    }
    return shift ? input - mean : input;
  }

  bool shift = true;  // false: the statistic is computed but changes nothing
  bool fail_in_replay = false;
  InputStatisticMode mode = InputStatisticMode::compute;
  std::optional<float> recorded;
  int calls[3] = {0, 0, 0};
};
TORCH_MODULE(MeanShift);

struct Batch {
  torch::Tensor ids, mask;
};

// Right-padded: example 1 is shorter than the others.
Batch padded_batch() {
  torch::manual_seed(3);
  Batch batch{torch::randint(5, 100, {3, 12}, torch::kInt64), torch::ones({3, 12}, torch::kInt64)};
  batch.mask[1].narrow(0, 7, 5).zero_();
  return batch;
}

std::vector<MeanShift> shift_every_linear(BertForSequenceClassification& model) {
  std::vector<MeanShift> shifts;
  for (auto& [name, linear] : find_linears(*model)) {
    shifts.emplace_back();
    linear->attach(shifts.back().ptr());
  }
  return shifts;
}

// In evaluation mode; `with_gradients` takes the record-and-replay path of
// the calibrated shortcut, without them it runs the layer over every position.
torch::Tensor eval_logits(BertForSequenceClassification& model, const Batch& batch, bool cls_only,
                          bool with_gradients = false) {
  torch::AutoGradMode grad_mode(with_gradients);
  model->eval();
  model->set_cls_only_last_layer(cls_only);
  return model->forward(batch.ids, batch.mask).detach();
}

TEST(ClsCalibration, GivesTheFullComputationsLogitsWhenTransformsUseTheWholeInput) {
  auto model = new_classifier(tiny_config(), 2);
  auto shifts = shift_every_linear(model);
  Batch batch = padded_batch();
  torch::Tensor full = eval_logits(model, batch, false);
  EXPECT_TRUE(model->last_layer_calibrates() == false) << "every position: nothing to calibrate";
  EXPECT_TRUE(torch::equal(eval_logits(model, batch, true), full));
  EXPECT_TRUE(model->last_layer_calibrates());
  // Replayed: products over the [CLS] row alone may round differently.
  torch::Tensor replayed = eval_logits(model, batch, true, true);
  EXPECT_TRUE(torch::allclose(replayed, full, 1e-5, 1e-6)) << replayed << full;

  // The statistic matters: without the shifts the logits are others.
  for (auto& shift : shifts) shift->shift = false;
  EXPECT_FALSE(torch::allclose(eval_logits(model, batch, false), full));
  // Detached, the transforms leave rows independent: the plain shortcut.
  for (auto& [name, linear] : find_linears(*model)) linear->detach("test_mean_shift");
  EXPECT_FALSE(model->last_layer_calibrates());
  EXPECT_TRUE(torch::equal(eval_logits(model, batch, true), eval_logits(model, batch, false)));
}

TEST(ClsCalibration, WithoutGradientsRunsTheLayerOverEveryPosition) {
  auto model = new_classifier(tiny_config(), 2);
  auto shifts = shift_every_linear(model);
  eval_logits(model, padded_batch(), true);
  for (auto& shift : shifts) EXPECT_EQ(shift->calls[0], 1);  // compute mode, once each
}

TEST(ClsCalibration, RecordsOnlyWhereTheClsRowSeesPartOfItsInput) {
  auto model = new_classifier(tiny_config(), 2);
  auto shifts = shift_every_linear(model);
  eval_logits(model, padded_batch(), true, true);
  std::map<std::string, std::array<int, 3>> calls;
  size_t i = 0;
  for (auto& [name, linear] : find_linears(*model)) {
    calls[name] = {shifts[i]->calls[0], shifts[i]->calls[1], shifts[i]->calls[2]};
    EXPECT_EQ(shifts[i]->mode, InputStatisticMode::compute) << name;  // reset after the pass
    EXPECT_FALSE(shifts[i]->recorded) << name;
    ++i;
  }
  using Calls = std::array<int, 3>;  // compute, record, replay
  EXPECT_EQ(calls["bert.encoder.layer.0.attention.self.query"], (Calls{1, 0, 0}));
  EXPECT_EQ(calls["bert.encoder.layer.1.attention.self.key"], (Calls{1, 0, 0}));  // every position, once
  EXPECT_EQ(calls["bert.encoder.layer.1.attention.self.value"], (Calls{1, 0, 0}));
  EXPECT_EQ(calls["bert.encoder.layer.1.attention.self.query"], (Calls{0, 1, 1}));
  EXPECT_EQ(calls["bert.encoder.layer.1.attention.output.dense"], (Calls{0, 1, 1}));
  EXPECT_EQ(calls["bert.encoder.layer.1.intermediate.dense"], (Calls{0, 1, 1}));
  EXPECT_EQ(calls["bert.encoder.layer.1.output.dense"], (Calls{0, 1, 1}));
  EXPECT_EQ(calls["bert.pooler.dense"], (Calls{1, 0, 0}));
  EXPECT_EQ(calls["classifier"], (Calls{1, 0, 0}));
}

TEST(ClsCalibration, ResetsTheModesWhenThePassThrows) {
  auto model = new_classifier(tiny_config(), 2);
  auto shifts = shift_every_linear(model);
  auto& query = shifts[6];  // layer 1's query: 6 Linears per layer
  ASSERT_EQ(find_linears(*model)[6].first, "bert.encoder.layer.1.attention.self.query");
  query->fail_in_replay = true;
  EXPECT_THROW(eval_logits(model, padded_batch(), true, true), Error);
  for (auto& shift : shifts) EXPECT_EQ(shift->mode, InputStatisticMode::compute);
}

TEST(ClsCalibration, TrainingDrawsTheSameDropoutSeedsAsThePlainShortcut) {
  // A statistic that changes nothing: any difference from the plain
  // shortcut would come from the calibration pass disturbing the dropout
  // seeds or the gradients.
  Batch batch = padded_batch();
  torch::Tensor labels = torch::tensor({0, 1, 1}, torch::kInt64);
  auto plain = new_classifier(tiny_config(), 4);
  auto calibrated = new_classifier(tiny_config(), 4);
  for (auto& shift : shift_every_linear(calibrated)) shift->shift = false;
  ASSERT_FALSE(plain->last_layer_calibrates());
  ASSERT_TRUE(calibrated->last_layer_calibrates());
  for (int step = 0; step < 2; ++step) {  // the second step starts from the seed stream the first left
    std::vector<torch::Tensor> logits;
    for (auto* model : {&plain, &calibrated}) {
      (*model)->train();
      (*model)->zero_grad();
      logits.push_back((*model)->forward(batch.ids, batch.mask));
      torch::cross_entropy_loss(logits.back(), labels).backward();
    }
    EXPECT_TRUE(torch::equal(logits[0], logits[1])) << step;
    auto plain_parameters = plain->named_parameters();
    for (const auto& item : calibrated->named_parameters()) {
      const torch::Tensor& expected = plain_parameters[item.key()].grad();
      ASSERT_EQ(item.value().grad().defined(), expected.defined()) << item.key();
      if (expected.defined()) EXPECT_TRUE(torch::equal(item.value().grad(), expected)) << item.key();
    }
  }
}

TEST(ClsCalibration, TheModelDecidesWhetherTheLastLayerCalibrates) {
  auto model = new_classifier(tiny_config(), 0);
  EXPECT_TRUE(model->cls_only_last_layer()) << "on by default";
  EXPECT_FALSE(model->last_layer_calibrates()) << "no transform derives a statistic";
  auto shifts = shift_every_linear(model);
  EXPECT_TRUE(model->last_layer_calibrates());
  model->set_cls_only_last_layer(false);
  EXPECT_FALSE(model->last_layer_calibrates()) << "every position needs no calibration";
  model->set_cls_only_last_layer(true);
  for (auto& [name, linear] : find_linears(*model)) linear->detach("test_mean_shift");
  EXPECT_FALSE(model->last_layer_calibrates());
}

}  // namespace
}  // namespace whittle::model
