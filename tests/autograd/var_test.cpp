#include "attn/autograd/var.h"

#include <gtest/gtest.h>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/core/error.h"

namespace attn::autograd {
namespace {

Var param(std::vector<float> v) { return Var(Tensor::from_vector({int64_t(v.size())}, v), true); }

TEST(Var, GradientOfAValueUsedTwice) {
  Var x = param({1, -2, 3});
  sum(x * x).backward();  // d/dx sum(x^2) = 2x
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, -4, 6}));
}

TEST(Var, GradientsAccumulateUntilZeroed) {
  Var x = param({1, 2});
  sum(scale(x, 3.0f)).backward();
  sum(scale(x, 3.0f)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{6, 6}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  sum(x).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{1, 1}));
}

TEST(Var, NoGradModeRecordsNothing) {
  Var x = param({1, 2});
  Var y;
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    y = sum(x * x);
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.node()->inputs.empty());
  EXPECT_THROW(y.backward(), Error);
}

TEST(Var, ConstantsGetNoGradient) {
  Var x = param({1, 2});
  Var c(Tensor::from_vector({2}, {5, 7}));
  sum(x * c).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{5, 7}));
  EXPECT_FALSE(c.grad().defined());
}

TEST(Var, BackwardFreesTheGraph) {
  Var x = param({1, 2});
  Var y = x * x;
  Var loss = sum(y);
  loss.backward();
  EXPECT_TRUE(y.node()->inputs.empty());
  EXPECT_FALSE(y.grad().defined());  // only leaves keep gradients
  EXPECT_THROW(loss.backward(), Error);  // the graph is gone
}

TEST(Var, NonScalarBackwardNeedsAGradient) {
  Var x = param({1, 2});
  Var y = x * x;
  EXPECT_THROW(y.backward(), Error);
  EXPECT_THROW(y.backward(Tensor::zeros({3})), Error);
  y.backward(Tensor::from_vector({2}, {1, 10}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 40}));
}

TEST(Var, DeepChainsDoNotOverflowTheStack) {
  Var x = param({1});
  Var y = x;
  for (int i = 0; i < 20000; ++i) y = add_scalar(y, 1.0f);
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{1}));
}

}  // namespace
}  // namespace attn::autograd
