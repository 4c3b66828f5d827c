// minimize_lbfgs on problems with known minima: Rosenbrock's valley, an ill-conditioned quadratic (against its
// solution by elimination), a start at the minimum; iteration limits, the per-iteration callback, bad inputs.
#include "attn/optim/lbfgs.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/test_util.h"

namespace attn::optim {
namespace {

using testing::expect_error;

double rosenbrock(const std::vector<double>& x, std::vector<double>& g) {
  const double a = 1.0 - x[0], b = x[1] - x[0] * x[0];
  g[0] = -2.0 * a - 400.0 * x[0] * b;
  g[1] = 200.0 * b;
  return a * a + 100.0 * b * b;
}

TEST(Lbfgs, FindsRosenbrocksMinimum) {
  std::vector<double> x{-1.2, 1.0};
  LbfgsOptions o;
  o.max_iterations = 500;
  o.gradient_tolerance = 1e-9;
  o.value_tolerance = 0.0;
  const LbfgsResult r = minimize_lbfgs(rosenbrock, x, o);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(x[0], 1.0, 1e-6);
  EXPECT_NEAR(x[1], 1.0, 1e-6);
  EXPECT_LT(r.value, 1e-12);
  EXPECT_LT(r.iterations, 100);
  EXPECT_GE(r.evaluations, r.iterations + 1);
}

TEST(Lbfgs, SolvesAnIllConditionedQuadratic) {
  // f = 1/2 x'Ax - b'x with A = M'M + diag(1e-3 .. 1e2); the minimum solves Ax = b.
  const int n = 30;
  const std::vector<float> m = testing::random_floats(n * n);
  const std::vector<float> bv = testing::random_floats(n);
  std::vector<double> a(n * n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      for (int k = 0; k < n; ++k) a[i * n + j] += double(m[k * n + i]) * m[k * n + j];
    }
    a[i * n + i] += std::pow(10.0, -3.0 + 5.0 * i / (n - 1));
  }
  auto f = [&](const std::vector<double>& x, std::vector<double>& g) {
    double v = 0.0;
    for (int i = 0; i < n; ++i) {
      g[i] = -bv[i];
      for (int j = 0; j < n; ++j) g[i] += a[i * n + j] * x[j];
      v += 0.5 * x[i] * (g[i] - bv[i]);
    }
    return v;
  };
  // Reference: Gaussian elimination with partial pivoting.
  std::vector<double> lu = a, sol(bv.begin(), bv.end());
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r) p = std::fabs(lu[r * n + c]) > std::fabs(lu[p * n + c]) ? r : p;
    for (int k = 0; k < n; ++k) std::swap(lu[c * n + k], lu[p * n + k]);
    std::swap(sol[c], sol[p]);
    for (int r = c + 1; r < n; ++r) {
      const double q = lu[r * n + c] / lu[c * n + c];
      for (int k = c; k < n; ++k) lu[r * n + k] -= q * lu[c * n + k];
      sol[r] -= q * sol[c];
    }
  }
  for (int r = n - 1; r >= 0; --r) {
    for (int k = r + 1; k < n; ++k) sol[r] -= lu[r * n + k] * sol[k];
    sol[r] /= lu[r * n + r];
  }

  std::vector<double> x(n, 0.0);
  LbfgsOptions o;
  o.max_iterations = 2000;
  o.gradient_tolerance = 1e-10;
  o.value_tolerance = 0.0;
  const LbfgsResult r = minimize_lbfgs(f, x, o);
  EXPECT_TRUE(r.converged);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(x[i], sol[i], 1e-6 * (1.0 + std::fabs(sol[i]))) << i;
}

TEST(Lbfgs, StopsAtTheLimitAndReportsEachIteration) {
  std::vector<double> x{-1.2, 1.0};
  LbfgsOptions o;
  o.max_iterations = 7;
  std::vector<double> values;
  const LbfgsResult r = minimize_lbfgs(rosenbrock, x, o, [&](int it, double v) {
    EXPECT_EQ(it, static_cast<int>(values.size()) + 1);
    values.push_back(v);
  });
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 7);
  ASSERT_EQ(values.size(), 7u);
  for (size_t i = 1; i < values.size(); ++i) EXPECT_LT(values[i], values[i - 1]);  // Armijo: always lower
  EXPECT_EQ(r.value, values.back());
  std::vector<double> g(2);
  EXPECT_EQ(rosenbrock(x, g), r.value);  // x is the point of the last value
}

TEST(Lbfgs, StopsWhenTheValueStopsFalling) {
  std::vector<double> x{-1.2, 1.0};
  LbfgsOptions o;
  o.max_iterations = 1000;
  o.gradient_tolerance = 0.0;
  o.value_tolerance = 1e-2;  // loose: stops long before the minimum
  o.past = 1;
  const LbfgsResult r = minimize_lbfgs(rosenbrock, x, o);
  EXPECT_TRUE(r.converged);
  EXPECT_LT(r.iterations, 1000);
}

TEST(Lbfgs, StartingAtTheMinimumDoesNothing) {
  std::vector<double> x{1.0, 1.0};
  const LbfgsResult r = minimize_lbfgs(rosenbrock, x);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.evaluations, 1);
  EXPECT_EQ(x, (std::vector<double>{1.0, 1.0}));
}

TEST(Lbfgs, BadInputsAreErrors) {
  std::vector<double> x{0.0};
  auto nan = [](const std::vector<double>&, std::vector<double>& g) {
    g[0] = 0.0;
    return std::nan("");
  };
  expect_error([&] { minimize_lbfgs(nan, x); }, {"lbfgs", "starting point"});
  LbfgsOptions o;
  o.history = 0;
  expect_error([&] { minimize_lbfgs(rosenbrock, x, o); }, {"history"});
  o = {};
  o.past = 0;
  expect_error([&] { minimize_lbfgs(rosenbrock, x, o); }, {"past"});
}

}  // namespace
}  // namespace attn::optim
