// Classifies sentences with a model that whittle trained, compressed or
// compiled:  classify MODEL [TEXT...]
// MODEL is a checkpoint directory or a file from `whittle compile`. Without
// texts it classifies three reviews of its own.
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <whittle/classifier.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: classify MODEL [TEXT...]\n";
    return 2;
  }
  std::vector<std::string> texts(argv + 2, argv + argc);
  if (texts.empty()) {
    texts = {"A wonderful film: moving, funny, and beautifully acted. I would watch it again tomorrow.",
             "Dull, predictable and far too long. The plot makes no sense and the acting is wooden.",
             "It had its moments, but the second half dragged."};
  }
  try {
    whittle::set_threads(0);
    whittle::Classifier classifier = whittle::Classifier::open(argv[1]);
    const std::vector<whittle::Prediction> predictions = classifier.classify(texts);
    std::cout << "engine: " << classifier.engine() << "\n";
    for (size_t i = 0; i < texts.size(); ++i) {
      const whittle::Prediction& prediction = predictions[i];
      // IMDb's labels: 0 negative, 1 positive.
      const char* name = classifier.num_labels() == 2 ? (prediction.label == 1 ? "positive" : "negative") : "label";
      std::cout << name << " " << prediction.label << " (p = " << std::fixed << std::setprecision(3)
                << prediction.probabilities[prediction.label] << "): " << texts[i] << "\n";
    }
  } catch (const whittle::Error& error) {
    std::cerr << "classify: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
