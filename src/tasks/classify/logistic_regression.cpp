#include "attn/tasks/classify/logistic_regression.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/optim/lbfgs.h"

namespace attn::tasks::classify {
namespace {

// Below this many stored values a pass stays on the calling thread: waking the team costs more.
constexpr int64_t kParallelValues = int64_t{1} << 15;

void check_rows(const text::SparseRows& x, const char* op) {
  ATTN_CHECK(!x.offsets.empty() && x.offsets[0] == 0 && x.offsets.back() == x.nnz() &&
                 x.values.size() == x.indices.size(),
             "{}: malformed sparse rows (offsets {} .. {}, {} indices, {} values)", op,
             x.offsets.empty() ? 0 : x.offsets[0], x.offsets.empty() ? 0 : x.offsets.back(), x.indices.size(),
             x.values.size());
  for (int64_t r = 0; r < x.rows(); ++r) {
    ATTN_CHECK(x.offsets[r] <= x.offsets[r + 1], "{}: row {} has a negative length", op, r);
  }
  for (int64_t k = 0; k < x.nnz(); ++k) {
    ATTN_CHECK(x.indices[k] >= 0 && x.indices[k] < x.cols, "{}: column index {} out of range [0, {})", op,
               x.indices[k], x.cols);
  }
}

// log-sum-exp of z[0, c), and z turned into softmax probabilities.
double softmax_in_place(double* z, int32_t c) {
  double max = z[0];
  for (int32_t k = 1; k < c; ++k) max = std::max(max, z[k]);
  double sum = 0.0;
  for (int32_t k = 0; k < c; ++k) sum += (z[k] = std::exp(z[k] - max));
  for (int32_t k = 0; k < c; ++k) z[k] /= sum;
  return max + std::log(sum);
}

}  // namespace

LogisticObjective::LogisticObjective(const text::SparseRows& x, const std::vector<int32_t>& labels,
                                     int32_t num_classes, const LogisticOptions& options)
    : x_(x), labels_(labels), num_classes_(num_classes), cols_(x.cols), l2_(options.l2) {
  ATTN_CHECK(num_classes >= 2, "logistic regression: needs at least 2 classes (got {})", num_classes);
  ATTN_CHECK(std::isfinite(options.l2) && options.l2 >= 0.0, "logistic regression: l2 must be >= 0 (got {})",
             options.l2);
  check_rows(x, "logistic regression");
  ATTN_CHECK(x.rows() > 0, "logistic regression: no training examples");
  ATTN_CHECK(static_cast<int64_t>(labels.size()) == x.rows(), "logistic regression: {} labels for {} rows",
             labels.size(), x.rows());
  std::vector<int64_t> class_count(num_classes, 0);
  for (size_t d = 0; d < labels.size(); ++d) {
    ATTN_CHECK(labels[d] >= 0 && labels[d] < num_classes, "logistic regression: label {} of example {} is not in [0, {})",
               labels[d], d, num_classes);
    ++class_count[labels[d]];
  }

  example_weight_.resize(labels.size());
  double total = 0.0;
  for (size_t d = 0; d < labels.size(); ++d) {
    example_weight_[d] = options.class_weight_balanced
                             ? static_cast<double>(labels.size()) / (num_classes * class_count[labels[d]])
                             : 1.0;
    total += example_weight_[d];
  }
  for (double& a : example_weight_) a /= total;
  l2_ = options.l2 / total;

  col_offsets_.assign(cols_ + 1, 0);
  for (int32_t f : x.indices) ++col_offsets_[f + 1];
  for (int64_t f = 0; f < cols_; ++f) col_offsets_[f + 1] += col_offsets_[f];
  col_rows_.resize(x.indices.size());
  col_values_.resize(x.indices.size());
  std::vector<int64_t> next(col_offsets_.begin(), col_offsets_.end() - 1);
  for (int64_t r = 0; r < x.rows(); ++r) {
    for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) {
      const int64_t at = next[x.indices[k]]++;
      col_rows_[at] = static_cast<int32_t>(r);
      col_values_[at] = x.values[k];
    }
  }
}

double LogisticObjective::operator()(const std::vector<double>& params, std::vector<double>& gradient) const {
  ATTN_CHECK(static_cast<int64_t>(params.size()) == num_params() && gradient.size() == params.size(),
             "logistic regression: {} parameters and {} gradients, expected {}", params.size(), gradient.size(),
             num_params());
  const int32_t c = num_classes_;
  const int64_t n = x_.rows();
  const double* weight = params.data();  // [cols, c]
  const double* bias = weight + cols_ * c;
  std::vector<double> delta(n * c);  // d loss / d logits, per example
  std::vector<double> loss(n);

  const bool parallel = x_.nnz() >= kParallelValues;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t d = 0; d < n; ++d) {
    double* z = delta.data() + d * c;
    const int64_t begin = x_.offsets[d], end = x_.offsets[d + 1];
    for (int32_t k = 0; k < c; ++k) {  // one class at a time: the sum stays in a register
      double sum = bias[k];
      for (int64_t j = begin; j < end; ++j) sum += x_.values[j] * weight[static_cast<int64_t>(x_.indices[j]) * c + k];
      z[k] = sum;
    }
    const double z_label = z[labels_[d]];
    const double a = example_weight_[d];
    loss[d] = a * (softmax_in_place(z, c) - z_label);
    z[labels_[d]] -= 1.0;
    for (int32_t k = 0; k < c; ++k) z[k] *= a;
  }

  double* grad_weight = gradient.data();
  double* grad_bias = grad_weight + cols_ * c;
#pragma omp parallel for schedule(dynamic, 1024) if (parallel)
  for (int64_t f = 0; f < cols_; ++f) {
    for (int32_t k = 0; k < c; ++k) {
      double sum = l2_ * weight[f * c + k];
      for (int64_t j = col_offsets_[f]; j < col_offsets_[f + 1]; ++j) {
        sum += col_values_[j] * delta[static_cast<int64_t>(col_rows_[j]) * c + k];
      }
      grad_weight[f * c + k] = sum;
    }
  }
  double penalty = 0.0;  // summed in order, as the losses: the same value on any number of threads
  for (int64_t i = 0; i < cols_ * c; ++i) penalty += weight[i] * weight[i];
  double total = 0.0;
  for (int32_t k = 0; k < c; ++k) grad_bias[k] = 0.0;
  for (int64_t d = 0; d < n; ++d) {
    total += loss[d];
    for (int32_t k = 0; k < c; ++k) grad_bias[k] += delta[d * c + k];
  }
  return total + 0.5 * l2_ * penalty;
}

double LogisticObjective::binary(const std::vector<double>& params, std::vector<double>& gradient) const {
  ATTN_CHECK(num_classes_ == 2, "logistic regression: the binary objective needs 2 classes, not {}", num_classes_);
  ATTN_CHECK(static_cast<int64_t>(params.size()) == num_binary_params() && gradient.size() == params.size(),
             "logistic regression: {} parameters and {} gradients, expected {}", params.size(), gradient.size(),
             num_binary_params());
  const int64_t n = x_.rows();
  const double* v = params.data();
  const double c = params[cols_];
  std::vector<double> delta(n);  // d loss / d (v . x + c), per example
  std::vector<double> loss(n);

  const bool parallel = x_.nnz() >= kParallelValues;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t d = 0; d < n; ++d) {
    double z = c;
    for (int64_t j = x_.offsets[d]; j < x_.offsets[d + 1]; ++j) z += x_.values[j] * v[x_.indices[j]];
    // softplus(z) - y z and sigmoid(z) - y, without overflow for large |z|
    const double e = std::exp(-std::fabs(z));
    const double sigmoid = z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    const double y = labels_[d];
    loss[d] = example_weight_[d] * (std::max(z, 0.0) + std::log1p(e) - y * z);
    delta[d] = example_weight_[d] * (sigmoid - y);
  }

#pragma omp parallel for schedule(dynamic, 1024) if (parallel)
  for (int64_t f = 0; f < cols_; ++f) {
    double sum = 0.5 * l2_ * v[f];
    for (int64_t j = col_offsets_[f]; j < col_offsets_[f + 1]; ++j) sum += col_values_[j] * delta[col_rows_[j]];
    gradient[f] = sum;
  }
  double penalty = 0.0;
  for (int64_t f = 0; f < cols_; ++f) penalty += v[f] * v[f];
  double total = 0.0, grad_c = 0.0;
  for (int64_t d = 0; d < n; ++d) {
    total += loss[d];
    grad_c += delta[d];
  }
  gradient[cols_] = grad_c;
  return total + 0.25 * l2_ * penalty;
}

LogisticModel fit_logistic(const text::SparseRows& x, const std::vector<int32_t>& labels, int32_t num_classes,
                           const LogisticOptions& options, const std::function<void(int, double)>& on_iteration) {
  ATTN_CHECK(options.max_iterations >= 1, "logistic regression: max_iterations must be >= 1 (got {})",
             options.max_iterations);
  ATTN_CHECK(options.tolerance >= 0.0, "logistic regression: tolerance must be >= 0 (got {})", options.tolerance);
  const LogisticObjective objective(x, labels, num_classes, options);
  optim::LbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_iterations;
  lbfgs.value_tolerance = options.tolerance;
  lbfgs.gradient_tolerance = 0.0;

  LogisticModel model;
  model.num_classes = num_classes;
  model.num_features = x.cols;
  model.weight.resize(num_classes * x.cols);
  model.bias.resize(num_classes);
  if (num_classes == 2) {
    std::vector<double> params(objective.num_binary_params(), 0.0);
    optim::minimize_lbfgs([&](const std::vector<double>& p, std::vector<double>& g) { return objective.binary(p, g); },
                          params, lbfgs, on_iteration);
    for (int64_t f = 0; f < x.cols; ++f) {
      model.weight[f] = static_cast<float>(-0.5 * params[f]);
      model.weight[x.cols + f] = static_cast<float>(0.5 * params[f]);
    }
    model.bias = {static_cast<float>(-0.5 * params[x.cols]), static_cast<float>(0.5 * params[x.cols])};
    return model;
  }
  std::vector<double> params(objective.num_params(), 0.0);
  optim::minimize_lbfgs(std::cref(objective), params, lbfgs, on_iteration);
  for (int64_t f = 0; f < x.cols; ++f) {
    for (int32_t k = 0; k < num_classes; ++k) model.weight[k * x.cols + f] = static_cast<float>(params[f * num_classes + k]);
  }
  for (int32_t k = 0; k < num_classes; ++k) model.bias[k] = static_cast<float>(params[x.cols * num_classes + k]);
  return model;
}

std::vector<float> predict_proba(const LogisticModel& model, const text::SparseRows& x) {
  check_rows(x, "logistic regression predict");
  ATTN_CHECK(x.cols == model.num_features, "logistic regression predict: rows have {} columns, the model {} features",
             x.cols, model.num_features);
  const int32_t c = model.num_classes;
  const int64_t n = x.rows();
  std::vector<float> out(n * c);
#pragma omp parallel if (x.nnz() * c >= kParallelValues)
  {
    std::vector<double> z(c);
#pragma omp for schedule(static)
    for (int64_t d = 0; d < n; ++d) {
      for (int32_t k = 0; k < c; ++k) {
        double s = model.bias[k];
        const float* w = model.weight.data() + k * model.num_features;
        for (int64_t j = x.offsets[d]; j < x.offsets[d + 1]; ++j) s += static_cast<double>(x.values[j]) * w[x.indices[j]];
        z[k] = s;
      }
      softmax_in_place(z.data(), c);
      for (int32_t k = 0; k < c; ++k) out[d * c + k] = static_cast<float>(z[k]);
    }
  }
  return out;
}

}  // namespace attn::tasks::classify
