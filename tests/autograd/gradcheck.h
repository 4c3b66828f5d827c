// Finite-difference check of autograd ops: the gradient of L = sum(w o f(inputs)) from backward() against
// central differences of L, evaluated in double from the float forward.
#pragma once
#include <functional>
#include <vector>

#include "attn/autograd/var.h"
#include "support/test_util.h"

namespace attn::testing {

using autograd::Var;

inline ::testing::AssertionResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f,
                                            const std::vector<Shape>& shapes, double h = 1e-2, double rtol = 2e-2,
                                            double atol = 2e-3, float lo = -1.0f, float hi = 1.0f) {
  std::vector<Var> inputs;
  for (const Shape& s : shapes) inputs.emplace_back(Tensor::from_vector(s, random_floats(shape_numel(s), lo, hi)), true);
  Var out = f(inputs);
  Tensor w = Tensor::from_vector(out.shape(), random_floats(out.numel()));
  out.backward(w);
  auto loss = [&]() {
    autograd::NoGradGuard no_grad;
    Var o = f(inputs);
    std::vector<float> ov = o.value().to_vector(), wv = w.to_vector();
    double acc = 0;
    for (size_t i = 0; i < ov.size(); ++i) acc += double(ov[i]) * wv[i];
    return acc;
  };
  for (size_t t = 0; t < inputs.size(); ++t) {
    Tensor& x = inputs[t].value();
    std::vector<double> numeric(size_t(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) {
      float keep = x.data()[i];
      x.data()[i] = keep + float(h);
      double up = loss();
      x.data()[i] = keep - float(h);
      double down = loss();
      x.data()[i] = keep;
      numeric[size_t(i)] = (up - down) / (2 * h);
    }
    const Tensor& g = inputs[t].grad();
    if (!g.defined()) return ::testing::AssertionFailure() << "input " << t << " got no gradient";
    auto r = all_close(g.to_vector(), numeric, rtol, atol);
    if (!r) return ::testing::AssertionFailure() << "input " << t << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace attn::testing
