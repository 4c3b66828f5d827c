// Helpers shared by the attention and positional-encoding tests: a finite-difference check of a module's
// gradients with respect to its inputs and its parameters, and double-precision references (linear layers,
// masked softmax) to compare module outputs against.
#pragma once
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "attn/autograd/var.h"
#include "attn/nn/module.h"
#include "support/test_util.h"

namespace attn::testing {

using autograd::Var;

// Like gradcheck (autograd/gradcheck.h), but also checks every parameter of `module`: the gradient of
// L = sum(w o f(inputs)) from backward() against central differences of L, evaluated in double.
inline ::testing::AssertionResult module_gradcheck(nn::Module& module,
                                                   const std::function<Var(const std::vector<Var>&)>& f,
                                                   const std::vector<Shape>& shapes, double h = 1e-2,
                                                   double rtol = 2e-2, double atol = 2e-3) {
  std::vector<Var> inputs;
  for (const Shape& s : shapes) inputs.emplace_back(Tensor::from_vector(s, random_floats(shape_numel(s))), true);
  module.zero_grad();
  Var out = f(inputs);
  Tensor w = Tensor::from_vector(out.shape(), random_floats(out.numel()));
  out.backward(w);
  auto loss = [&]() {
    autograd::NoGradGuard no_grad;
    std::vector<float> ov = f(inputs).value().to_vector(), wv = w.to_vector();
    double acc = 0;
    for (size_t i = 0; i < ov.size(); ++i) acc += double(ov[i]) * wv[i];
    return acc;
  };
  std::vector<std::pair<std::string, Var>> leaves;
  for (size_t t = 0; t < inputs.size(); ++t) leaves.emplace_back("input " + std::to_string(t), inputs[t]);
  for (auto& p : module.named_parameters()) leaves.push_back(p);
  for (auto& [name, leaf] : leaves) {
    Tensor& x = leaf.value();
    std::vector<double> numeric(size_t(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float keep = x.data()[i];
      x.data()[i] = keep + float(h);
      const double up = loss();
      x.data()[i] = keep - float(h);
      const double down = loss();
      x.data()[i] = keep;
      numeric[size_t(i)] = (up - down) / (2 * h);
    }
    const Tensor& g = leaf.grad();
    if (!g.defined()) {
      // A leaf the output does not depend on: its numeric gradient must vanish too.
      for (double d : numeric)
        if (std::fabs(d) > atol) return ::testing::AssertionFailure() << name << " got no gradient";
      continue;
    }
    auto r = all_close(g.to_vector(), numeric, rtol, atol);
    if (!r) return ::testing::AssertionFailure() << name << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

// Row-major double matrix helpers for references.
using Mat = std::vector<double>;

inline Mat to_double(const Tensor& t) {
  std::vector<float> v = t.contiguous().to_vector();
  return Mat(v.begin(), v.end());
}

// y[rows, out] = x[rows, in] W^T + b (PyTorch layout; bias may be undefined).
inline Mat linear_ref(const Mat& x, int64_t rows, const Tensor& weight, const Tensor& bias) {
  const int64_t out = weight.size(0), in = weight.size(1);
  const Mat w = to_double(weight), b = bias.defined() ? to_double(bias) : Mat(size_t(out), 0.0);
  Mat y(size_t(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b[size_t(o)];
      for (int64_t i = 0; i < in; ++i) acc += x[size_t(r * in + i)] * w[size_t(o * in + i)];
      y[size_t(r * out + o)] = acc;
    }
  return y;
}

// Softmax of s[0, n) over [0, visible); zeros elsewhere (all zeros when visible == 0).
inline std::vector<double> masked_softmax_ref(const double* s, int64_t n, int64_t visible) {
  std::vector<double> p(size_t(n), 0.0);
  if (visible <= 0) return p;
  double mx = -std::numeric_limits<double>::infinity(), sum = 0;
  for (int64_t j = 0; j < visible; ++j) mx = std::max(mx, s[j]);
  for (int64_t j = 0; j < visible; ++j) sum += (p[size_t(j)] = std::exp(s[j] - mx));
  for (int64_t j = 0; j < visible; ++j) p[size_t(j)] /= sum;
  return p;
}

// Keys query i of a batch element with `length` valid keys sees, under the causal rule j <= i + (lk - lq).
inline int64_t visible_ref(int64_t length, int64_t i, int64_t lq, int64_t lk, bool causal) {
  return std::max<int64_t>(0, causal ? std::min(length, i + (lk - lq) + 1) : length);
}

// Lengths in [lo, hi] for a batch, each random.
inline std::vector<int32_t> random_lengths(int64_t batch, int64_t lo, int64_t hi) {
  std::vector<int32_t> l(static_cast<size_t>(batch));
  for (auto& x : l) x = int32_t(random_int(lo, hi));
  return l;
}

// Rows [0, rows) of [B, L, D] element b copied into a [1, rows, D] tensor.
inline Tensor take_sequence(const Tensor& x, int64_t b, int64_t rows) {
  return x.slice(0, b, b + 1).slice(1, 0, rows).contiguous();
}

}  // namespace attn::testing
