#include "report/mase_references.h"

#include <gtest/gtest.h>

#include "report/document.h"
#include "report/reference_columns.h"

namespace whittle::report {
namespace {

bool ends_with_file(const std::string& source) { return source.ends_with(".ipynb") || source.ends_with(".json"); }

TEST(MaseReferences, EveryNumberNamesTheMaseFileThatShowsIt) {
  for (const auto& reference : mase_references()) {
    EXPECT_FALSE(reference.name.empty());
    EXPECT_FALSE(reference.setting.empty()) << reference.name;
    ASSERT_FALSE(reference.numbers.empty()) << reference.name;
    for (const auto& number : reference.numbers) {
      std::string label = reference.name + ": " + result_label(key_of(number));
      EXPECT_TRUE(number.source.starts_with("DeepWok/mase ")) << label << " from " << number.source;
      EXPECT_TRUE(number.source.find("docs/source/modules/documentation/tutorials/") != std::string::npos) << label;
      EXPECT_TRUE(ends_with_file(number.source)) << label << " from " << number.source;
      EXPECT_GT(number.accuracy, 0.0) << label;
      EXPECT_LE(number.accuracy, 1.0) << label;
    }
  }
}

// The numbers of Mase's executed tutorial notebooks, each from its notebook.
TEST(MaseReferences, TheTutorialNumbersComeFromTheirNotebooks) {
  ReferenceResults tutorials = mase_tutorial_reference();
  struct Expected {
    ResultKey key;
    double accuracy;
    const char* notebook;
  };
  const Expected expected[] = {
      {{ReferenceMeasure::lora_fused, 0, "", 0.0}, 0.82264, "tutorial_2_lora_finetune.ipynb"},
      {{ReferenceMeasure::before_quantization, 0, "", 0.0}, 0.8282, "tutorial_3_qat.ipynb"},
      {{ReferenceMeasure::ptq, 8, "", 0.0}, 0.8282, "tutorial_3_qat.ipynb"},
      {{ReferenceMeasure::qat, 8, "", 0.0}, 0.84232, "tutorial_3_qat.ipynb"},
      {{ReferenceMeasure::after_pruning, 0, "l1-norm", 0.5}, 0.55512, "tutorial_4_pruning.ipynb"},
      {{ReferenceMeasure::pruned_final, 0, "l1-norm", 0.5}, 0.83624, "tutorial_4_pruning.ipynb"},
  };
  EXPECT_EQ(tutorials.numbers.size(), std::size(expected));
  for (const auto& want : expected) {
    const ReferenceNumber* number = find_number(tutorials, want.key);
    ASSERT_NE(number, nullptr) << result_label(want.key);
    EXPECT_EQ(number->accuracy, want.accuracy) << result_label(want.key);
    EXPECT_TRUE(number->source.ends_with(want.notebook)) << number->source;
  }
  // The tutorials publish no random pruning and no "highest" accuracy.
  EXPECT_FALSE(has_measure(tutorials, ReferenceMeasure::pruned_best));
  EXPECT_EQ(find_number(tutorials, {ReferenceMeasure::pruned_final, 0, "random", 0.5}), nullptr);
}

TEST(MaseReferences, TheLabSolutionIsLabelledWithItsCommitAndOneEpochProtocol) {
  ReferenceResults solution = mase_lab_solution_reference();
  EXPECT_NE(solution.setting.find("one epoch"), std::string::npos);
  for (const auto& number : solution.numbers) EXPECT_NE(number.source.find("6c6af682"), std::string::npos);
  const ReferenceNumber* random = find_number(solution, {ReferenceMeasure::pruned_final, 0, "random", 0.5});
  ASSERT_NE(random, nullptr);
  EXPECT_EQ(random->accuracy, 0.51492);
  EXPECT_EQ(find_number(solution, {ReferenceMeasure::pruned_final, 0, "random", 0.9}), nullptr);
}

TEST(MaseReferences, TheSourceListShowsEveryNumberAsPublished) {
  auto references = mase_references();
  BulletList sources = reference_sources(references);
  ASSERT_EQ(sources.items.size(), references.size());
  for (std::size_t i = 0; i < references.size(); ++i) {
    for (const auto& number : references[i].numbers) {
      std::string entry = result_label(key_of(number)) + " " + reference_text(&number);
      EXPECT_NE(sources.items[i].find(entry), std::string::npos) << entry;
      EXPECT_NE(sources.items[i].find(number.source), std::string::npos) << number.source;
    }
  }
  ReferenceNumber exact{ReferenceMeasure::qat, 8, "", 0.0, 0.84232, "x.json"};
  EXPECT_EQ(reference_text(&exact), "0.84232");
  exact.accuracy = 0.5;
  EXPECT_EQ(reference_text(&exact), "0.5");
  EXPECT_EQ(reference_text(nullptr), "—");
}

}  // namespace
}  // namespace whittle::report
