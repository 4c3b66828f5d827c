// Multinomial logistic regression (softmax over classes) on sparse rows, fitted to the optimum of its
// L2-regularised loss by L-BFGS: the linear model of the tf-idf baseline. Deterministic for any thread count.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "attn/text/tfidf.h"

namespace attn::tasks::classify {

struct LogisticOptions {
  // L2 strength against the summed loss, scikit-learn's 1 / C (see LogisticObjective). Per example it shrinks as
  // the data grows; 0.25 was best or near it on IMDB (25k), SST-2 (67k) and ChnSentiCorp (9.6k) alike.
  double l2 = 0.25;
  int max_iterations = 100;            // L-BFGS iterations; each is about one pass over the data
  double tolerance = 1e-4;             // stop when 5 iterations lower the loss by less than this, relatively
  bool class_weight_balanced = false;  // weigh examples by n / (classes * n_class), as scikit-learn's "balanced"
};

// The objective as a function of params = [weight (features x classes, feature-major), bias (classes)]:
//   (sum_d a_d * CE(softmax(weight^T x_d + bias), y_d) + l2 / 2 * ||weight||^2) / sum_d a_d,
// a_d = 1, or n / (classes * n_{y_d}) when balanced: scikit-learn's LogisticRegression objective divided by n.
// Keeps a column-major copy of x for the gradient; x and labels must outlive it.
class LogisticObjective {
 public:
  // Checks labels (count, range), indices and options; throws attn::Error naming the problem.
  LogisticObjective(const text::SparseRows& x, const std::vector<int32_t>& labels, int32_t num_classes,
                    const LogisticOptions& options);
  int64_t num_params() const { return (cols_ + 1) * num_classes_; }
  // Returns the value and writes the gradient (sized num_params()).
  double operator()(const std::vector<double>& params, std::vector<double>& gradient) const;

  // Two classes in half the parameters, params = [v (features), c]: the objective at weight = [-v/2, v/2] (per
  // feature), bias = [-c/2, c/2]. The full minimum lies on that subspace (the loss sees only w1 - w0, and the
  // penalty is least when w0 = -w1), so minimising this finds it with half the work.
  int64_t num_binary_params() const { return cols_ + 1; }
  double binary(const std::vector<double>& params, std::vector<double>& gradient) const;

 private:
  const text::SparseRows& x_;
  const std::vector<int32_t>& labels_;
  int32_t num_classes_;
  int64_t cols_;
  double l2_;  // options.l2 / sum_d a_d
  std::vector<double> example_weight_;  // a_d / sum a
  // x transposed (compressed columns): the gradient of each feature is one ordered sum, in parallel over features.
  std::vector<int64_t> col_offsets_;
  std::vector<int32_t> col_rows_;
  std::vector<float> col_values_;
};

struct LogisticModel {
  int32_t num_classes = 0;
  int64_t num_features = 0;
  std::vector<float> weight;  // [classes, features]
  std::vector<float> bias;    // [classes]
};

LogisticModel fit_logistic(const text::SparseRows& x, const std::vector<int32_t>& labels, int32_t num_classes,
                           const LogisticOptions& options,
                           const std::function<void(int iteration, double loss)>& on_iteration = {});

// Softmax probabilities, rows x classes, in parallel over rows.
std::vector<float> predict_proba(const LogisticModel& model, const text::SparseRows& x);

}  // namespace attn::tasks::classify
