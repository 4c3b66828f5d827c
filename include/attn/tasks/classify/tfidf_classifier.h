// The fast text-classification baseline (`attn classify train --model tfidf`): tf-idf n-gram features and a
// multinomial logistic regression over them, saved as model.safetensors ("idf", "weight", "bias") plus
// tfidf_features.txt (line i = feature i) in a model directory.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attn/tasks/classify/logistic_regression.h"
#include "attn/text/tfidf.h"

namespace attn::tasks::classify {

class TfidfClassifier {
 public:
  // x = vectorizer.transform(training documents). on_epoch(iteration, loss) follows each L-BFGS iteration.
  static TfidfClassifier train(text::TfidfVectorizer vectorizer, const text::SparseRows& x,
                               const std::vector<int32_t>& labels, int32_t num_classes, const LogisticOptions& options,
                               const std::function<void(int epoch, double loss)>& on_epoch = {});

  std::vector<float> predict_proba(const text::SparseRows& x) const;  // rows x classes
  std::vector<float> predict_proba(const std::vector<std::vector<std::string>>& docs) const;

  // How much each token pushes the document towards class `cls`: every occurrence of a feature gets the feature's
  // share x_f * (w[cls, f] - mean over classes of w[., f]) divided by its count, split evenly over the tokens it
  // spans. Tokens that push away get 0; the rest are scaled to sum to 1 (all 0 when none pushes towards cls).
  std::vector<float> token_contributions(const std::vector<std::string>& tokens, int32_t cls) const;

  const text::TfidfVectorizer& vectorizer() const { return vectorizer_; }
  const LogisticModel& model() const { return model_; }
  int32_t num_classes() const { return model_.num_classes; }

  // Writes dir/model.safetensors (the tf-idf options in its metadata) and dir/tfidf_features.txt, each atomically;
  // dir must exist.
  void save(const std::string& dir) const;
  // Checks that the files agree (feature count vs the idf and weight shapes, finite values, options) and throws
  // attn::Error naming the file and the shapes otherwise.
  static TfidfClassifier load(const std::string& dir);

  static constexpr const char* kWeightsFile = "model.safetensors";
  static constexpr const char* kFeaturesFile = "tfidf_features.txt";

 private:
  TfidfClassifier(text::TfidfVectorizer vectorizer, LogisticModel model)
      : vectorizer_(std::move(vectorizer)), model_(std::move(model)) {}

  text::TfidfVectorizer vectorizer_;
  LogisticModel model_;
};

}  // namespace attn::tasks::classify
