// The fused projection + cross-entropy op against the composition cross_entropy(linear(...)) (values and
// gradients, incoming gradients other than 1, a weight used twice), finite differences, grad modes, and errors.
#include "attn/autograd/ops/linear_cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/loss.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/shape.h"
#include "autograd/gradcheck.h"

namespace attn::autograd {
namespace {

using testing::expect_error;
using testing::gradcheck;
using testing::random_floats;
using V = std::vector<Var>;

Var param(const Shape& s) { return Var(Tensor::from_vector(s, testing::random_floats(shape_numel(s))), true); }

void expect_close(const Tensor& a, const Tensor& b, const char* what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const std::vector<float> av = a.to_vector(), bv = b.to_vector();
  for (size_t i = 0; i < av.size(); ++i) EXPECT_NEAR(av[i], bv[i], 1e-6 + 1e-4 * std::fabs(bv[i])) << what << " " << i;
}

TEST(LinearCrossEntropyOp, MatchesLinearThenCrossEntropy) {
  // hidden [2, 5, 24] (batch, time, dim): leading dimensions are rows, as in linear.
  const std::vector<int32_t> targets{3, -100, 36, 0, 7, 7, -100, 12, 1, 30};
  for (float eps : {0.0f, 0.1f}) {
    for (bool with_bias : {false, true}) {
      kernels::CrossEntropyOptions o;
      o.label_smoothing = eps;
      Var h = param({2, 5, 24}), w = param({37, 24}), b = with_bias ? param({37}) : Var();
      Var fused = linear_cross_entropy(h, w, b, targets, o);
      EXPECT_EQ(fused.shape(), Shape{});
      fused.backward(Tensor::full({}, 2.5f));  // the backward scales the saved gradients
      const Tensor gh = h.grad(), gw = w.grad(), gb = with_bias ? b.grad() : Tensor();
      h.zero_grad(), w.zero_grad();
      if (with_bias) b.zero_grad();
      Var plain = cross_entropy(reshape(linear(h, w, b), {10, 37}), targets, o);
      plain.backward(Tensor::full({}, 2.5f));
      EXPECT_NEAR(fused.value().data()[0], plain.value().data()[0], 1e-5) << eps;
      expect_close(gh, h.grad(), "hidden");
      expect_close(gw, w.grad(), "weight");
      if (with_bias) expect_close(gb, b.grad(), "bias");
    }
  }
}

TEST(LinearCrossEntropyOp, SharedWeightAccumulates) {
  // A decoder's projection used on two batches (or tied to an embedding): its gradients add up.
  Var h1 = param({4, 8}), h2 = param({3, 8}), w = param({11, 8});
  const std::vector<int32_t> t1{1, 2, 3, 10}, t2{0, -100, 5};
  add(linear_cross_entropy(h1, w, Var(), t1), linear_cross_entropy(h2, w, Var(), t2)).backward();
  const Tensor fused = w.grad();
  w.zero_grad();
  add(cross_entropy(linear(h1, w), t1), cross_entropy(linear(h2, w), t2)).backward();
  expect_close(fused, w.grad(), "weight");
}

TEST(LinearCrossEntropyOp, FiniteDifferences) {
  const std::vector<int32_t> targets{4, -100, 0, 6, 2};
  for (float eps : {0.0f, 0.1f}) {
    kernels::CrossEntropyOptions o;
    o.label_smoothing = eps;
    EXPECT_TRUE(gradcheck([&](const V& x) { return linear_cross_entropy(x[0], x[1], x[2], targets, o); },
                          {{5, 3}, {7, 3}, {7}}))
        << eps;
  }
}

TEST(LinearCrossEntropyOp, GradientsOnlyWhereWanted) {
  const std::vector<int32_t> targets{1, 0, 2};
  Var h(Tensor::from_vector({3, 4}, random_floats(12))), w = param({5, 4}), b = param({5});
  Var loss = linear_cross_entropy(h, w, b, targets);
  EXPECT_TRUE(loss.requires_grad());
  loss.backward();
  EXPECT_FALSE(h.grad().defined());
  EXPECT_TRUE(w.grad().defined() && b.grad().defined());
  {
    NoGradGuard no_grad;
    Var l = linear_cross_entropy(h, w, b, targets);
    EXPECT_FALSE(l.requires_grad());
    EXPECT_FLOAT_EQ(l.value().data()[0], loss.value().data()[0]);
  }
  EXPECT_FALSE(linear_cross_entropy(h, Var(w.value()), Var(), targets).requires_grad());
}

TEST(LinearCrossEntropyOp, ErrorsNameTheOpAndShapes) {
  Var h = param({3, 4}), w = param({5, 4});
  const std::vector<int32_t> ok{0, 1, 2}, two{0, 1}, out_of_range{0, 5, 1};
  expect_error([&] { linear_cross_entropy(h, param({5, 3}), Var(), ok); },
               {"linear_cross_entropy", "[3, 4]", "[5, 3]"});
  expect_error([&] { linear_cross_entropy(h, w, param({4}), ok); }, {"linear_cross_entropy: bias [4]", "[5, 4]"});
  expect_error([&] { linear_cross_entropy(h, w, Var(), two); }, {"linear_cross_entropy", "3 rows", "2 targets"});
  expect_error([&] { linear_cross_entropy(h, w, Var(), out_of_range); }, {"target 5 at row 1", "[0, 5)"});
  expect_error([&] { linear_cross_entropy(param({0, 4}), w, Var(), {}); }, {"linear_cross_entropy", "zero-length"});
}

}  // namespace
}  // namespace attn::autograd
