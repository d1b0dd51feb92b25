#include "report/lab_results.h"

namespace whittle::report {

ReferenceResults mase_bert_tiny_reference() {
  ReferenceResults reference;
  reference.name = "Mase reference";
  reference.setting = "Mase's lab: pretrained bert-tiny on IMDb, fine-tuned with LoRA";
  reference.source = "Mase's published lab results";
  reference.baseline_accuracy = 0.814;
  reference.baseline_label = "float32 baseline (Mase: with LoRA)";
  reference.qat_accuracy = {{8, 0.833}};
  reference.pruned = {{"l1-norm", 0.5, 0.815}, {"random", 0.5, 0.515}};
  return reference;
}

std::string method_display_name(const std::string& method) { return method == "l1-norm" ? "L1-norm" : method; }

}  // namespace whittle::report
