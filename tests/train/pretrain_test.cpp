#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "model/bert_mlm.h"
#include "train/mlm_evaluate.h"
#include "train/mlm_masking.h"
#include "train/pretrain.h"
#include "util/error.h"
#include "support/tiny_bert.h"
#include "support/temp_dir.h"

namespace whittle::train {
namespace {
namespace fs = std::filesystem;

constexpr int32_t kPad = 0, kUnk = 1, kCls = 2, kSep = 3, kMask = 4;

MaskingTokens tokens_for(int64_t vocab_size) {
  MaskingTokens tokens;
  tokens.mask_id = kMask;
  tokens.pad_id = kPad;
  tokens.vocab_size = vocab_size;
  tokens.special_ids = {kCls, kSep, kPad, kMask, kUnk};
  return tokens;
}

using test_support::TempDir;

// [CLS] words... [SEP] words... [SEP], with a sprinkling of [UNK], words from [10, vocab).
Sequences random_sequences(int count, int length, int64_t vocab, uint64_t seed) {
  std::mt19937_64 random(seed);
  Sequences sequences;
  for (int i = 0; i < count; ++i) {
    std::vector<int32_t> ids = {kCls};
    for (int t = 1; t + 1 < length; ++t) {
      if (t == length / 2) ids.push_back(kSep);
      else if (random() % 50 == 0) ids.push_back(kUnk);
      else ids.push_back(static_cast<int32_t>(10 + random() % (vocab - 10)));
    }
    ids.push_back(kSep);
    sequences.push_back(ids);
  }
  return sequences;
}

TEST(MlmMasking, ProportionsFollowBert) {
  constexpr int64_t vocab = 30000;
  Sequences sequences = random_sequences(400, 128, vocab, 1);
  int64_t maskable = 0, predicted = 0, shown_as_mask = 0, shown_as_random = 0, unchanged = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    MaskedSequence masked = mask_sequence(sequences[i], tokens_for(vocab), MaskingOptions{}, 1000 + i);
    for (size_t t = 0; t < sequences[i].size(); ++t) {
      int32_t original = sequences[i][t];
      bool special = original == kCls || original == kSep || original == kUnk;
      if (!special) ++maskable;
      if (masked.labels[t] == model::kNotPredicted) {
        EXPECT_EQ(masked.input_ids[t], original);
        continue;
      }
      EXPECT_FALSE(special) << "special token predicted at " << t;
      EXPECT_EQ(masked.labels[t], original);
      ++predicted;
      if (masked.input_ids[t] == kMask) ++shown_as_mask;
      else if (masked.input_ids[t] != original) ++shown_as_random;
      else ++unchanged;
    }
    EXPECT_EQ(masked.predicted,
              std::count_if(masked.labels.begin(), masked.labels.end(), [](int64_t l) { return l != model::kNotPredicted; }));
  }
  auto share = [](int64_t part, int64_t whole) { return static_cast<double>(part) / static_cast<double>(whole); };
  EXPECT_NEAR(share(predicted, maskable), 0.15, 0.005);
  EXPECT_NEAR(share(shown_as_mask, predicted), 0.8, 0.015);
  EXPECT_NEAR(share(shown_as_random, predicted), 0.1, 0.01);
  EXPECT_NEAR(share(unchanged, predicted), 0.1, 0.01);
}

TEST(MlmMasking, SpecialTokensAreNeverTouched) {
  // Sequences of specials only but for one word: that word is the one predicted.
  std::vector<int32_t> ids = {kCls, kUnk, kSep, 57, kSep, kPad, kMask};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MaskedSequence masked = mask_sequence(ids, tokens_for(100), MaskingOptions{}, seed);
    ASSERT_EQ(masked.predicted, 1);
    EXPECT_EQ(masked.labels[3], 57);
    for (size_t t : {0, 1, 2, 4, 5, 6}) {
      EXPECT_EQ(masked.input_ids[t], ids[t]);
      EXPECT_EQ(masked.labels[t], model::kNotPredicted);
    }
  }
  std::vector<int32_t> only_specials = {kCls, kSep};
  EXPECT_EQ(mask_sequence(only_specials, tokens_for(100), MaskingOptions{}, 0).predicted, 0);
}

TEST(MlmMasking, SeededAndIndependentOfTheBatch) {
  Sequences sequences = random_sequences(6, 20, 500, 2);
  auto first = mask_sequence(sequences[0], tokens_for(500), MaskingOptions{}, 7);
  auto again = mask_sequence(sequences[0], tokens_for(500), MaskingOptions{}, 7);
  auto other = mask_sequence(sequences[0], tokens_for(500), MaskingOptions{}, 8);
  EXPECT_EQ(first.input_ids, again.input_ids);
  EXPECT_EQ(first.labels, again.labels);
  EXPECT_NE(first.labels, other.labels);

  // Sequence 3 gets the same mask in any batch.
  MlmBatch alone = make_mlm_batch(sequences, {3}, tokens_for(500), MaskingOptions{}, 11);
  MlmBatch mixed = make_mlm_batch(sequences, {5, 3, 0}, tokens_for(500), MaskingOptions{}, 11);
  EXPECT_TRUE(torch::equal(alone.labels[0], mixed.labels[1]));
  EXPECT_TRUE(torch::equal(alone.input_ids[0], mixed.input_ids[1]));
}

TEST(MlmMasking, BatchesArePaddedAndPaddingIsNeverPredicted) {
  Sequences sequences = {{kCls, 20, 21, 22, 23, 24, 25, kSep}, {kCls, 30, kSep}};
  MlmBatch batch = make_mlm_batch(sequences, {0, 1}, tokens_for(100), MaskingOptions{}, 3);
  ASSERT_EQ(batch.input_ids.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(batch.real_tokens, 11);
  EXPECT_EQ(batch.attention_mask[1].sum().item<int64_t>(), 3);
  EXPECT_TRUE(torch::equal(batch.input_ids[1].slice(0, 3), torch::full({5}, kPad, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.labels[1].slice(0, 3), torch::full({5}, model::kNotPredicted, torch::kInt64)));
  // 6 words → round(0.9) = 1 prediction; 1 word → at least 1.
  EXPECT_EQ(batch.predicted, 2);
  EXPECT_EQ(batch.labels[1][1].item<int64_t>(), 30);
}

TEST(MlmMasking, RejectsImpossibleOptions) {
  MaskingOptions options;
  options.mask_fraction = 0.95;
  EXPECT_THROW(options.validate(), Error);
  options = {};
  options.predict_fraction = 1.5;
  EXPECT_THROW(options.validate(), Error);
}

// A corpus a tiny model learns quickly: each sequence counts upwards from a
// random start (mod 40), so every masked word follows from its neighbours.
Sequences counting_sequences(int count, uint64_t seed) {
  std::mt19937_64 random(seed);
  Sequences sequences;
  for (int i = 0; i < count; ++i) {
    int start = static_cast<int>(random() % 40);
    std::vector<int32_t> ids = {kCls};
    for (int t = 0; t < 14; ++t) ids.push_back(10 + (start + t) % 40);
    ids.push_back(kSep);
    sequences.push_back(ids);
  }
  return sequences;
}

model::BertConfig tiny_config() {
  model::BertConfig config = test_support::tiny_bert_config({.vocab = 50, .positions = 32});
  config.hidden_dropout_prob = 0.0;
  config.attention_probs_dropout_prob = 0.0;
  return config;
}

PretrainOptions quick_options(int64_t steps) {
  PretrainOptions options;
  options.total_steps = steps;
  options.batch_size = 16;
  options.learning_rate = 3e-3;
  options.warmup_ratio = 0.1;
  options.checkpoint_minutes = 0.0;
  options.seed = 5;
  return options;
}

TEST(Pretrain, ShortRunLowersTheHeldOutMlmLoss) {
  TempDir dir;
  auto model = model::new_masked_lm(tiny_config(), 0);
  Sequences training = counting_sequences(256, 1);
  Sequences held_out = counting_sequences(64, 2);
  std::ostringstream log;
  MlmEvalOptions eval_options;
  double before = evaluate_masked_lm(model, held_out, tokens_for(50), eval_options, log).loss;
  PretrainRun run = pretrain_masked_lm(model, training, tokens_for(50), quick_options(600), dir.path() / "resume",
                                       nlohmann::json::object(), log);
  EXPECT_TRUE(run.complete);
  EXPECT_EQ(run.first_step, 0);
  EXPECT_EQ(run.last_step, 600);
  MlmEvalResult after = evaluate_masked_lm(model, held_out, tokens_for(50), eval_options, log);
  EXPECT_LT(after.loss, 0.5 * before) << "before " << before << ", after " << after.loss;
  EXPECT_GT(after.accuracy, 0.5);  // chance is 1/40
  EXPECT_NEAR(after.perplexity, std::exp(after.loss), 1e-9);
  EXPECT_FALSE(fs::exists(dir.path() / "resume")) << "checkpointing was off and the run completed";
}

TEST(Pretrain, ResumesWhereTheInterruptedRunStoppedAndEndsLikeAnUninterruptedOne) {
  TempDir dir;
  Sequences training = counting_sequences(100, 3);
  std::ostringstream log;
  const nlohmann::json settings = {{"corpus", "counting"}};

  auto interrupted = model::new_masked_lm(tiny_config(), 0);
  PretrainOptions stopping = quick_options(30);
  stopping.stop_after_steps = 12;
  PretrainRun first = pretrain_masked_lm(interrupted, training, tokens_for(50), stopping, dir.path() / "a", settings, log);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.last_step, 12);
  std::optional<ResumeState> state = read_resume_state(dir.path() / "a");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->step, 12);
  EXPECT_EQ(state->total_steps, 30);

  // A new process: fresh model, same command line (stop_after_steps is not
  // part of the settings).
  auto resumed = model::new_masked_lm(tiny_config(), 0);
  PretrainRun second =
      pretrain_masked_lm(resumed, training, tokens_for(50), quick_options(30), dir.path() / "a", settings, log);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.first_step, 12);
  EXPECT_EQ(second.last_step, 30);
  EXPECT_NE(log.str().find("resuming from step 12"), std::string::npos);

  auto uninterrupted = model::new_masked_lm(tiny_config(), 0);
  pretrain_masked_lm(uninterrupted, training, tokens_for(50), quick_options(30), dir.path() / "b", settings, log);
  auto resumed_tensors = model::masked_lm_tensors(resumed);
  for (const auto& [name, tensor] : model::masked_lm_tensors(uninterrupted)) {
    EXPECT_TRUE(torch::allclose(tensor, resumed_tensors.at(name), 1e-5, 1e-6)) << name;
  }
}

TEST(Pretrain, RefusesToResumeWithOtherSettings) {
  TempDir dir;
  Sequences training = counting_sequences(64, 4);
  std::ostringstream log;
  auto model = model::new_masked_lm(tiny_config(), 0);
  PretrainOptions options = quick_options(10);
  options.stop_after_steps = 2;
  pretrain_masked_lm(model, training, tokens_for(50), options, dir.path(), {{"model", "tiny"}}, log);

  PretrainOptions other_batch = quick_options(10);
  other_batch.batch_size = 8;
  try {
    pretrain_masked_lm(model, training, tokens_for(50), other_batch, dir.path(), {{"model", "tiny"}}, log);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("options.batch_size: 16 there, 8 here"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(pretrain_masked_lm(model, training, tokens_for(50), quick_options(10), dir.path(),
                                  {{"model", "larger"}}, log),
               Error);
}

TEST(Pretrain, DescribesTheFirstDifference) {
  nlohmann::json saved = {{"a", 1}, {"b", {{"c", "x"}}}};
  EXPECT_EQ(describe_difference(saved, saved), "");
  EXPECT_EQ(describe_difference(saved, {{"a", 1}, {"b", {{"c", "y"}}}}), "b.c: \"x\" there, \"y\" here");
  EXPECT_EQ(describe_difference(saved, {{"a", 1}}), "b: {\"c\":\"x\"} there, absent here");
}

TEST(Pretrain, StepsForEpochsCountsTheLastPartialBatch) {
  EXPECT_EQ(steps_for_epochs(100, 32, 1.0), 4);
  EXPECT_EQ(steps_for_epochs(100, 32, 2.5), 10);
  EXPECT_THROW(steps_for_epochs(0, 32, 1.0), Error);
  PretrainOptions options;
  EXPECT_THROW(options.validate(), Error);  // no steps
}

TEST(Pretrain, MeasuringTheStepTimeLeavesTheModelAlone) {
  auto model = model::new_masked_lm(tiny_config(), 0);
  auto before = model::masked_lm_tensors(model);
  double seconds = measure_seconds_per_step(model, counting_sequences(32, 5), tokens_for(50), quick_options(10), 2);
  EXPECT_GT(seconds, 0.0);
  for (const auto& [name, tensor] : model::masked_lm_tensors(model)) EXPECT_TRUE(torch::equal(tensor, before.at(name))) << name;
}

}  // namespace
}  // namespace whittle::train
