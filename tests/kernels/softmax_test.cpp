// Softmax / log-softmax kernels against double-precision references: random shapes over every axis layout,
// extreme and masked inputs, NaN propagation, finite-difference gradients, the big-array (streaming) paths,
// and argument checks.
#include "attn/kernels/softmax.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::expect_error;

using attn::testing::all_close;
using attn::testing::numeric_gradient;
using attn::testing::random_floats;

constexpr double kInfD = std::numeric_limits<double>::infinity();
constexpr float kInfF = std::numeric_limits<float>::infinity();

struct Dims {
  int64_t outer, n, inner;
  int64_t total() const { return outer * n * inner; }
};

std::string name(const Dims& d) {
  return fmt::format("[{}, {}, {}]", d.outer, d.n, d.inner);
}

// Reference softmax (log = false) or log-softmax (log = true) along n, in double. A slice with a NaN is all NaN;
// an all -inf slice is 0 (softmax) or -inf (log-softmax).
std::vector<double> ref_forward(const std::vector<double>& x, const Dims& d, bool log) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < d.outer; ++o) {
    for (int64_t i = 0; i < d.inner; ++i) {
      auto at = [&](int64_t k) { return size_t((o * d.n + k) * d.inner + i); };
      double m = -kInfD;
      bool nan = false;
      for (int64_t k = 0; k < d.n; ++k) {
        nan |= std::isnan(x[at(k)]);
        m = std::max(m, x[at(k)]);
      }
      double s = 0;
      if (m != -kInfD) {
        for (int64_t k = 0; k < d.n; ++k) s += std::exp(x[at(k)] - m);
      }
      for (int64_t k = 0; k < d.n; ++k) {
        double v;
        if (nan) {
          v = std::nan("");
        } else if (m == -kInfD) {
          v = log ? -kInfD : 0.0;
        } else {
          v = log ? x[at(k)] - m - std::log(s) : std::exp(x[at(k)] - m) / s;
        }
        y[at(k)] = v;
      }
    }
  }
  return y;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

void forward(bool log, const std::vector<float>& x, std::vector<float>& y, const Dims& d) {
  (log ? log_softmax_forward : softmax_forward)(x.data(), y.data(), d.outer, d.n, d.inner);
}

// Forward of the kernel vs the reference; log-softmax values are O(10), so they get an absolute tolerance.
void expect_forward_matches(bool log, const std::vector<float>& x, const Dims& d) {
  std::vector<float> y(x.size(), 12345.0f);
  forward(log, x, y, d);
  const std::vector<double> want = ref_forward(to_double(x), d, log);
  EXPECT_TRUE(all_close(y, want, 1e-5, log ? 2e-5 : 1e-7)) << (log ? "log_softmax " : "softmax ") << name(d);
}

std::vector<Dims> random_shapes() {
  std::vector<Dims> shapes;
  for (int64_t outer : {1, 5}) {
    for (int64_t n : {1, 3, 7, 8, 16, 17, 33, 100, 1000}) {
      for (int64_t inner : {1, 3, 17}) shapes.push_back({outer, n, inner});
    }
  }
  return shapes;
}

TEST(SoftmaxForward, MatchesReferenceOnRandomShapes) {
  for (const Dims& d : random_shapes()) expect_forward_matches(false, random_floats(d.total(), -6.0f, 6.0f), d);
}

TEST(LogSoftmaxForward, MatchesReferenceOnRandomShapes) {
  for (const Dims& d : random_shapes()) expect_forward_matches(true, random_floats(d.total(), -6.0f, 6.0f), d);
}

// Rows of large magnitude: naive exp would overflow at 88.7 and underflow below -87.
std::vector<float> extreme_values(int64_t count) {
  const float pool[] = {1e4f, -1e4f, 88.0f, -88.0f, 0.0f, 89.0f, -89.0f, 9999.5f, -3.0f, 1e4f};
  std::vector<float> x = random_floats(count, -100.0f, 100.0f);
  for (size_t i = 0; i < x.size(); i += 3) x[i] = pool[attn::testing::random_int(0, 9)];
  return x;
}

TEST(SoftmaxForward, ExtremeValuesStayFinite) {
  for (Dims d : {Dims{5, 17, 1}, Dims{5, 1000, 1}, Dims{1, 33, 3}, Dims{5, 17, 17}}) {
    const std::vector<float> x = extreme_values(d.total());
    expect_forward_matches(false, x, d);
    expect_forward_matches(true, x, d);
    std::vector<float> y(x.size());
    forward(false, x, y, d);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << name(d);
  }
  // A row that is all +1e4 or all -1e4 is uniform.
  for (float v : {1e4f, -1e4f, 88.0f, -88.0f}) {
    std::vector<float> x(24, v), y(24);
    softmax_forward(x.data(), y.data(), 1, 24, 1);
    for (float p : y) EXPECT_NEAR(p, 1.0f / 24, 1e-7) << v;
  }
}

// Masks some entries to -inf and every entry of chosen slices (slice index o*inner + i).
std::vector<float> masked_input(const Dims& d, const std::vector<int64_t>& full_slices) {
  std::vector<float> x = random_floats(d.total(), -3.0f, 3.0f);
  for (size_t i = 0; i < x.size(); i += 4) x[i] = -kInfF;
  for (int64_t s : full_slices) {
    const int64_t o = s / d.inner, i = s % d.inner;
    for (int64_t k = 0; k < d.n; ++k) x[size_t((o * d.n + k) * d.inner + i)] = -kInfF;
  }
  return x;
}

TEST(SoftmaxForward, MaskedEntriesGetZeroAndFullyMaskedSlicesAreZero) {
  for (Dims d : {Dims{5, 17, 1}, Dims{5, 1000, 1}, Dims{5, 9, 3}, Dims{1, 17, 17}}) {
    const std::vector<float> x = masked_input(d, {0, d.outer * d.inner - 1});
    std::vector<float> y(x.size(), 7.0f);
    softmax_forward(x.data(), y.data(), d.outer, d.n, d.inner);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_FALSE(std::isnan(y[i])) << name(d) << " at " << i;
      if (x[i] == -kInfF) {
        ASSERT_EQ(y[i], 0.0f) << name(d) << " at " << i;
      }
    }
    expect_forward_matches(false, x, d);
  }
}

TEST(LogSoftmaxForward, FullyMaskedSlicesAreMinusInfinity) {
  for (Dims d : {Dims{5, 17, 1}, Dims{5, 1000, 1}, Dims{5, 9, 3}, Dims{1, 17, 17}}) {
    const std::vector<float> x = masked_input(d, {0, d.outer * d.inner - 1});
    std::vector<float> y(x.size(), 7.0f);
    log_softmax_forward(x.data(), y.data(), d.outer, d.n, d.inner);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_FALSE(std::isnan(y[i])) << name(d) << " at " << i;
      if (x[i] == -kInfF) {
        ASSERT_EQ(y[i], -kInfF) << name(d) << " at " << i;
      }
    }
    expect_forward_matches(true, x, d);
  }
}

TEST(SoftmaxForward, NanPropagatesToItsSliceOnly) {
  for (bool log : {false, true}) {
    for (Dims d : {Dims{5, 17, 1}, Dims{3, 1000, 1}, Dims{3, 9, 3}, Dims{2, 5, 17}}) {
      std::vector<float> x = random_floats(d.total(), -3.0f, 3.0f);
      x[size_t(d.inner + 1)] = std::nanf("");  // slice (0, 1) when inner > 1, row 0 when inner == 1
      // A slice holding only NaN and -inf must come out NaN, not as a fully masked slice.
      const int64_t last_o = d.outer - 1;
      for (int64_t k = 0; k < d.n; ++k) x[size_t((last_o * d.n + k) * d.inner)] = k == 2 ? std::nanf("") : -kInfF;
      expect_forward_matches(log, x, d);
    }
  }
}

TEST(SoftmaxForward, InPlace) {
  for (bool log : {false, true}) {
    for (Dims d : {Dims{5, 1000, 1}, Dims{5, 17, 3}}) {
      std::vector<float> x = random_floats(d.total(), -5.0f, 5.0f), want(x.size());
      forward(log, x, want, d);
      forward(log, x, x, d);
      EXPECT_EQ(x, want) << name(d);
    }
  }
}

// Over 16 MiB of traffic: the streaming-store path, with rows starting at every alignment, and rows longer than
// the scratch row.
TEST(SoftmaxForward, LargeArraysMatchReference) {
  for (Dims d : {Dims{2500, 1003, 1}, Dims{130, 20000, 1}}) {
    for (bool log : {false, true}) {
      std::vector<float> x = random_floats(d.total(), -8.0f, 8.0f);
      x[5] = -kInfF;
      expect_forward_matches(log, x, d);
    }
  }
}

// ---- backward ---------------------------------------------------------------------------------------------------

void backward(bool log, const std::vector<float>& y, const std::vector<float>& dy, std::vector<float>& dx,
              const Dims& d) {
  (log ? log_softmax_backward : softmax_backward)(y.data(), dy.data(), dx.data(), d.outer, d.n, d.inner);
}

// f(x) = sum_i w_i * forward(x)_i over the finite outputs, differentiated numerically in double, against the
// float backward kernel with dy = w.
void expect_gradient_matches(bool log, const std::vector<float>& xf, const Dims& d) {
  const std::vector<float> w = random_floats(d.total(), -1.0f, 1.0f);
  auto f = [&](const std::vector<double>& x) {
    const std::vector<double> y = ref_forward(x, d, log);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (std::isfinite(y[i])) s += w[i] * y[i];
    }
    return s;
  };
  const std::vector<double> want = numeric_gradient(f, to_double(xf), 1e-5);
  std::vector<float> y(xf.size()), dx(xf.size(), 99.0f);
  forward(log, xf, y, d);
  backward(log, y, w, dx, d);
  EXPECT_TRUE(all_close(dx, want, 1e-3, 1e-5)) << (log ? "log_softmax " : "softmax ") << name(d);
  // Same result when dx overwrites dy.
  std::vector<float> inplace = w;
  backward(log, y, inplace, inplace, d);
  EXPECT_EQ(inplace, dx) << "aliased dx, " << name(d);
}

std::vector<Dims> gradient_shapes() {
  return {{1, 1, 1}, {1, 3, 1}, {2, 17, 1}, {1, 40, 1}, {2, 3, 3}, {1, 17, 3}, {2, 5, 17}};
}

TEST(SoftmaxBackward, MatchesFiniteDifferences) {
  for (const Dims& d : gradient_shapes()) expect_gradient_matches(false, random_floats(d.total(), -2.0f, 2.0f), d);
}

TEST(LogSoftmaxBackward, MatchesFiniteDifferences) {
  for (const Dims& d : gradient_shapes()) expect_gradient_matches(true, random_floats(d.total(), -2.0f, 2.0f), d);
}

// Masked entries (and fully masked slices) pass no gradient, and their dy (nonzero here) does not leak into
// the other entries' gradients.
TEST(SoftmaxBackward, MaskedInputsMatchFiniteDifferences) {
  for (bool log : {false, true}) {
    for (Dims d : {Dims{3, 17, 1}, Dims{2, 9, 3}}) {
      const std::vector<float> x = masked_input(d, {1});
      expect_gradient_matches(log, x, d);
      std::vector<float> y(x.size()), dx(x.size());
      forward(log, x, y, d);
      backward(log, y, random_floats(d.total()), dx, d);
      for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] == -kInfF) {
          ASSERT_EQ(dx[i], 0.0f) << name(d) << " at " << i;
        }
      }
    }
  }
}

// The big-array path against the closed forms, evaluated in double from the same float y.
TEST(SoftmaxBackward, LargeArraysMatchClosedForm) {
  const Dims d{1500, 1003, 1};
  for (bool log : {false, true}) {
    const std::vector<float> x = random_floats(d.total(), -8.0f, 8.0f);
    std::vector<float> y(x.size()), dy = random_floats(d.total()), dx(x.size());
    forward(log, x, y, d);
    backward(log, y, dy, dx, d);
    std::vector<double> want(x.size());
    for (int64_t r = 0; r < d.outer; ++r) {
      const size_t b = size_t(r * d.n);
      double s = 0;
      for (int64_t k = 0; k < d.n; ++k) s += log ? double(dy[b + k]) : double(dy[b + k]) * y[b + k];
      for (int64_t k = 0; k < d.n; ++k) {
        const double yk = y[b + k];
        want[b + k] = log ? dy[b + k] - std::exp(yk) * s : yk * (dy[b + k] - s);
      }
    }
    EXPECT_TRUE(all_close(dx, want, 1e-4, 1e-6)) << (log ? "log_softmax" : "softmax");
  }
}

// ---- arguments --------------------------------------------------------------------------------------------------

TEST(SoftmaxForward, BadArgumentsThrowNamingOpAndShape) {
  std::vector<float> a(64), b(64);
  expect_error([&] { softmax_forward(a.data(), b.data(), -1, 4, 1); }, {"softmax_forward", "[-1, 4, 1]"});
  expect_error([&] { log_softmax_forward(a.data(), b.data(), 2, -4, 1); }, {"log_softmax_forward", "[2, -4, 1]"});
  expect_error([&] { softmax_backward(a.data(), b.data(), b.data(), 2, 4, -3); }, {"softmax_backward", "[2, 4, -3]"});
  expect_error([&] { log_softmax_backward(a.data(), nullptr, b.data(), 2, 4, 1); },
               {"log_softmax_backward", "null", "[2, 4, 1]"});
  expect_error([&] { softmax_forward(nullptr, b.data(), 1, 8, 1); }, {"softmax_forward", "null", "[1, 8, 1]"});
  expect_error([&] { softmax_forward(a.data(), b.data(), int64_t{1} << 40, int64_t{1} << 40, 1); },
               {"softmax_forward", "int64"});
  // Empty arrays are fine and touch nothing.
  EXPECT_NO_THROW(softmax_forward(nullptr, nullptr, 0, 5, 1));
  EXPECT_NO_THROW(log_softmax_forward(nullptr, nullptr, 3, 0, 2));
  EXPECT_NO_THROW(softmax_backward(nullptr, nullptr, nullptr, 3, 5, 0));
}

}  // namespace
}  // namespace attn::kernels
