// Peak resident memory of BERT-Tiny (2 layers, hidden 128, the real
// 30,522-token vocabulary) evaluating and fine-tuning on full-length inputs:
// 512 tokens, batches of 8, as in the lab. The bounds are the measured peaks
// (docs/results/reliability.md) with room for allocator noise; a leak per
// batch or an extra copy of the dataset breaks them.
#include <gtest/gtest.h>

#include <string>

#include "cli/cli_runner.h"

namespace whittle::cli_testing {
namespace {

namespace fs = std::filesystem;

// Measured: 239 MiB evaluating, 410 MiB fine-tuning.
constexpr long kEvaluationBoundKib = 384 * 1024;
constexpr long kFineTuningBoundKib = 640 * 1024;

// 48 reviews per class and split, each long enough to fill 512 tokens.
fs::path write_long_reviews(const TempDir& dir) {
  const fs::path root = dir / "long" / "aclImdb";
  std::string text;
  for (int word = 0; word < 700; ++word) text += (word % 7 == 0 ? "wonderful " : "the movie was ");
  for (const char* split : {"train", "test"}) {
    for (const char* label : {"pos", "neg"}) {
      fs::create_directories(root / split / label);
      for (int i = 0; i < 48; ++i) {
        write_text(root / split / label / (std::to_string(i) + (label[0] == 'p' ? "_9.txt" : "_2.txt")), text);
      }
    }
  }
  return root.parent_path();
}

TEST(PeakMemory, BertTinyFineTunesAndEvaluatesWithinItsBounds) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory and quarantine multiply the peak";
#endif
  TempDir dir;
  const fs::path data = write_long_reviews(dir);
  const std::vector<std::string> common = {"--data", data.string(), "--cache-dir", (dir / "cache").string(),
                                           "--max-length", "512"};
  std::vector<std::string> finetune = {"finetune", "--config", (fixtures_dir() / "bert-tiny-config.json").string(),
                                       "--out", (dir / "model").string(), "--epochs", "1", "--batch-size", "8"};
  finetune.insert(finetune.end(), common.begin(), common.end());
  RunResult trained = run_whittle(finetune, dir, {.timeout = std::chrono::seconds(300)});
  ASSERT_EQ(trained.exit_code, 0) << trained.describe();
  EXPECT_LT(trained.peak_memory_kib, kFineTuningBoundKib) << "fine-tuning peaked at " << trained.peak_memory_kib << " KiB";

  std::vector<std::string> eval = {"eval", "--from", (dir / "model").string(), "--batch-size", "8"};
  eval.insert(eval.end(), common.begin(), common.end());
  RunResult evaluated = run_whittle(eval, dir, {.timeout = std::chrono::seconds(300)});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.describe();
  EXPECT_LT(evaluated.peak_memory_kib, kEvaluationBoundKib) << "evaluation peaked at " << evaluated.peak_memory_kib << " KiB";
  std::cerr << "peak resident memory: fine-tuning " << trained.peak_memory_kib / 1024 << " MiB, evaluation "
            << evaluated.peak_memory_kib / 1024 << " MiB\n";
}

}  // namespace
}  // namespace whittle::cli_testing
