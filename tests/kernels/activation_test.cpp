#include "attn/kernels/activation.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSqrt2OverPi = 0.79788456080286535588;

double gelu_erf(double x) { return x == -kInf ? 0.0 : 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_erf_grad(double x) {
  if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
  return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
}
// x * sigmoid(2u) = 0.5 x (1 + tanh u), written without the cancellation of 1 + tanh u for x < 0.
double gelu_tanh(double x) {
  if (x == -kInf) return 0.0;
  const double u = kSqrt2OverPi * (x + 0.044715 * x * x * x);
  return x / (1.0 + std::exp(-2.0 * u));
}
double gelu_tanh_grad(double x) {
  if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
  const double u = kSqrt2OverPi * (x + 0.044715 * x * x * x);
  const double s = 1.0 / (1.0 + std::exp(-2.0 * u));
  return s + x * 2.0 * s * (1.0 - s) * kSqrt2OverPi * (1.0 + 3.0 * 0.044715 * x * x);
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Act {
  std::string name;
  std::function<void(int64_t, const float*, float*)> forward;
  // dx from (x, y, dy): each kernel takes the array its header documents.
  std::function<void(int64_t, const float*, const float*, const float*, float*)> backward;
  std::function<double(double)> f, df;
  double rtol;  // forward accuracy over [-10, 10]
};

std::vector<Act> activations() {
  return {
      {"tanh", tanh_forward, [](int64_t n, const float*, const float* y, const float* dy,
                                float* dx) { tanh_backward(n, y, dy, dx); },
       [](double x) { return std::tanh(x); }, [](double x) { return 1.0 - std::tanh(x) * std::tanh(x); }, 1e-6},
      {"sigmoid", sigmoid_forward,
       [](int64_t n, const float*, const float* y, const float* dy, float* dx) { sigmoid_backward(n, y, dy, dx); },
       sigmoid, [](double x) { return sigmoid(x) * (1.0 - sigmoid(x)); }, 2e-6},
      {"relu", relu_forward,
       [](int64_t n, const float*, const float* y, const float* dy, float* dx) { relu_backward(n, y, dy, dx); },
       [](double x) { return x > 0 ? x : (std::isnan(x) ? x : 0.0); }, [](double x) { return x > 0 ? 1.0 : 0.0; },
       0.0},
      {"gelu", [](int64_t n, const float* x, float* y) { gelu_forward(n, x, y); },
       [](int64_t n, const float* x, const float*, const float* dy, float* dx) { gelu_backward(n, x, dy, dx); },
       gelu_erf, gelu_erf_grad, 2e-6},
      {"gelu_tanh", [](int64_t n, const float* x, float* y) { gelu_forward(n, x, y, GeluApprox::kTanh); },
       [](int64_t n, const float* x, const float*, const float* dy,
          float* dx) { gelu_backward(n, x, dy, dx, GeluApprox::kTanh); },
       gelu_tanh, gelu_tanh_grad, 2e-6},
  };
}

std::vector<double> map_ref(const std::function<double(double)>& f, const std::vector<float>& x) {
  std::vector<double> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = f(x[i]);
  return r;
}

TEST(Activation, ForwardMatchesDoubleReference) {
  for (const Act& a : activations()) {
    for (int64_t n : {1, 3, 8, 17, 1000, 4099, 100003}) {
      std::vector<float> x = random_floats(n, -10.0f, 10.0f), y(n);
      a.forward(n, x.data(), y.data());
      // atol covers the far left tails of the gelus (values < 1e-6), checked for relative error below.
      EXPECT_TRUE(all_close(y, map_ref(a.f, x), a.rtol, 1e-9)) << a.name << " n=" << n;
      a.forward(n, x.data(), x.data());  // in place
      EXPECT_EQ(x, y) << a.name << " in place, n=" << n;
    }
  }
}

TEST(Activation, TanhIsExactNearZero) {
  std::vector<float> x = {0.0f, -0.0f, 1e-30f, -1e-20f, 1e-8f, 1e-5f, -1e-3f, 0.1f, 0.6249f, -0.6251f, FLT_MIN, 1e-40f};
  std::vector<float> y(x.size());
  tanh_forward(static_cast<int64_t>(x.size()), x.data(), y.data());
  EXPECT_TRUE(all_close(y, map_ref([](double v) { return std::tanh(v); }, x), 3e-7, 0.0));
  EXPECT_TRUE(std::signbit(y[1]));
}

// The erfc / sigmoid forms keep relative precision where 1 + erf(x / sqrt 2) would cancel to nothing. What is
// left is the rounding of the exponent (~x^2 / 2) in float, about 1e-6 per unit of |x|.
TEST(Activation, GeluLeftTailKeepsRelativePrecision) {
  std::vector<float> x = random_floats(1000, -12.0f, -3.0f), y(1000);
  gelu_forward(1000, x.data(), y.data());
  EXPECT_TRUE(all_close(y, map_ref(gelu_erf, x), 2e-5, 0.0));
  x = random_floats(1000, -8.0f, -3.0f);  // beyond, x * sigmoid(2u) underflows float
  gelu_forward(1000, x.data(), y.data(), GeluApprox::kTanh);
  EXPECT_TRUE(all_close(y, map_ref(gelu_tanh, x), 3e-5, 0.0));
}

TEST(Activation, ExtremeValuesSaturateAndNaNPropagates) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {20.0f, -20.0f, 87.0f, -87.0f, 89.0f, -89.0f, 100.0f, -100.0f, 1e30f, -1e30f,
                          FLT_MAX, -FLT_MAX, inf, -inf, std::nanf(""), 9.0f, -9.0f, -13.0f, 5.5f, -5.5f};
  const int64_t n = static_cast<int64_t>(x.size());
  for (const Act& a : activations()) {
    std::vector<float> y(n), dx(n), dy(n, 1.0f);
    a.forward(n, x.data(), y.data());
    // Tails: relative error of e^x grows with |x| (rounding of x log2 e), and results below FLT_MIN are denormal.
    EXPECT_TRUE(all_close(y, map_ref(a.f, x), 2e-5, 1e-37)) << a.name;
    a.backward(n, x.data(), y.data(), dy.data(), dx.data());
    std::vector<double> want = map_ref(a.df, x);
    if (a.name == "relu") want[14] = 0.0;  // y = NaN is not > 0
    // From-output backwards lose the tail of 1 - y^2 / y (1 - y) where y rounds to +-1: absolute error < 2e-7.
    EXPECT_TRUE(all_close(dx, want, 2e-5, 2e-7)) << a.name << " backward";
    for (int64_t i = 0; i < n - 1; ++i) {
      if (i == 14) continue;
      EXPECT_FALSE(std::isnan(y[i]) || std::isnan(dx[i])) << a.name << " x=" << x[i];
    }
  }
}

TEST(Activation, BackwardMatchesAnalyticDerivative) {
  for (const Act& a : activations()) {
    for (int64_t n : {1, 3, 17, 1000, 100003}) {
      std::vector<float> x = random_floats(n, -8.0f, 8.0f), y(n), dx(n);
      std::vector<float> dy = random_floats(n, -1.0f, 1.0f);
      a.forward(n, x.data(), y.data());
      a.backward(n, x.data(), y.data(), dy.data(), dx.data());
      std::vector<double> want(n);
      for (int64_t i = 0; i < n; ++i) want[i] = dy[i] * a.df(x[i]);
      // tanh/sigmoid work from the float y, whose rounding is amplified in 1 - y^2 where y is near 1.
      EXPECT_TRUE(all_close(dx, want, 2e-5, 2e-7)) << a.name << " n=" << n;
    }
  }
}

TEST(Activation, BackwardMatchesFiniteDifferences) {
  for (const Act& a : activations()) {
    for (int64_t n : {1, 3, 17, 1000}) {
      std::vector<float> x = random_floats(n, -4.0f, 4.0f);
      for (float& v : x) v = std::fabs(v) < 0.01f ? 0.5f : v;  // keep clear of relu's kink
      std::vector<float> w = random_floats(n), y(n), dx(n);
      a.forward(n, x.data(), y.data());
      a.backward(n, x.data(), y.data(), w.data(), dx.data());
      auto f = [&](const std::vector<double>& xd) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += w[i] * a.f(xd[i]);
        return s;
      };
      std::vector<double> g = testing::numeric_gradient(f, std::vector<double>(x.begin(), x.end()));
      EXPECT_TRUE(all_close(dx, g, 1e-3, 1e-4)) << a.name << " n=" << n;
    }
  }
}

TEST(Activation, BadArgumentsThrow) {
  std::vector<float> x(4);
  try {
    gelu_forward(0, x.data(), x.data());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gelu_forward: n = 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tanh_backward(4, x.data(), nullptr, x.data()), Error);
}

}  // namespace
}  // namespace attn::kernels
