#include "attn/kernels/dropout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/activation.h"
#include "attn/core/rng.h"
#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

TEST(Dropout, ZeroProbabilityIsIdentity) {
  for (int64_t n : {1, 3, 17, 1000}) {
    std::vector<float> x = random_floats(n), y(n);
    std::vector<uint8_t> mask(n, 7);
    dropout_forward(n, x.data(), 0.0f, 1, 0, y.data(), mask.data());
    EXPECT_EQ(y, x);
    EXPECT_EQ(mask, std::vector<uint8_t>(n, 1));
  }
}

TEST(Dropout, MaskFollowsUniformAtAndKeptValuesAreScaled) {
  for (float p : {0.1f, 0.5f, 0.9f}) {
    for (int64_t n : {1, 3, 17, 1000, 100003}) {
      std::vector<float> x = random_floats(n), y(n);
      std::vector<uint8_t> mask(n);
      dropout_forward(n, x.data(), p, 1234, 77, y.data(), mask.data());
      const float scale = 1.0f / (1.0f - p);
      for (int64_t i = 0; i < n; ++i) {
        const bool keep = uniform_at(1234, 77 + i) >= p;
        ASSERT_EQ(mask[i], keep ? 1 : 0) << p << " " << i;
        ASSERT_EQ(y[i], keep ? x[i] * scale : 0.0f) << p << " " << i;
      }
    }
  }
}

TEST(Dropout, KeepRateIsOneMinusP) {
  const int64_t n = 1000000;
  std::vector<float> x(n, 1.0f), y(n);
  std::vector<uint8_t> mask(n);
  for (float p : {0.1f, 0.5f, 0.9f}) {
    dropout_forward(n, x.data(), p, 9, 0, y.data(), mask.data());
    int64_t kept = 0;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) kept += mask[i], sum += y[i];
    EXPECT_NEAR(kept / double(n), 1.0 - p, 3e-3) << p;  // standard error <= 5e-4
    EXPECT_NEAR(sum / n, 1.0, 1e-2) << p;                // inverted dropout keeps the mean
  }
}

TEST(Dropout, ReproducibleFromSeedAndOffsetOnAnyThreadCount) {
  const int64_t n = 300007;
  std::vector<float> x = random_floats(n);
  std::vector<float> first(n), y(n), z(n);
  std::vector<uint8_t> mask(n);
  const int keep = num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    dropout_forward(n, x.data(), 0.3f, 42, 1000, y.data(), mask.data());
    if (threads == 1) first = y;
    EXPECT_EQ(y, first) << threads << " threads";
  }
  set_num_threads(keep);
  // A call at offset 1000 + k sees the same draws as elements [k, n) of the call at 1000.
  const int64_t k = 12345;
  dropout_forward(n - k, x.data() + k, 0.3f, 42, 1000 + k, z.data(), nullptr);
  EXPECT_TRUE(std::equal(z.begin(), z.begin() + (n - k), first.begin() + k));
  // Another seed or offset gives another mask.
  dropout_forward(n, x.data(), 0.3f, 43, 1000, z.data(), nullptr);
  EXPECT_NE(z, first);
  dropout_forward(n, x.data(), 0.3f, 42, 1000 + n, z.data(), nullptr);
  EXPECT_NE(z, first);
}

// f(x) = sum w * dropout(x) with the mask fixed; backward with dy = w must use that same mask and scale.
TEST(Dropout, BackwardUsesTheForwardMask) {
  for (int64_t n : {1, 3, 17, 1000}) {
    const float p = 0.25f;
    std::vector<float> x = random_floats(n), w = random_floats(n), y(n), dx(n);
    std::vector<uint8_t> mask(n);
    dropout_forward(n, x.data(), p, 5, 0, y.data(), mask.data());
    dropout_backward(n, w.data(), mask.data(), p, dx.data());
    auto f = [&](const std::vector<double>& xd) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += w[i] * (mask[i] ? xd[i] / (1.0 - p) : 0.0);
      return s;
    };
    std::vector<double> g = testing::numeric_gradient(f, std::vector<double>(x.begin(), x.end()));
    EXPECT_TRUE(all_close(dx, g, 1e-3, 1e-4)) << n;
    // In place, dx over dy.
    dropout_backward(n, w.data(), mask.data(), p, w.data());
    EXPECT_EQ(w, dx);
  }
}

// relu then dropout in one pass: the same numbers as relu_forward then dropout_forward with the same draws, and
// the gradient of that chain (relu_backward of dropout_backward), bit for bit, from the output alone.
TEST(Dropout, ReluDropoutIsReluThenDropout) {
  for (int64_t n : {1, 15, 16, 17, 1000, 70001}) {
    const float p = float(testing::random_int(0, 8)) / 10.0f;
    const uint64_t offset = uint64_t(testing::random_int(0, 1 << 20));
    std::vector<float> x = random_floats(n), dy = random_floats(n);
    for (int64_t i = 0; i < n; i += 7) x[i] = 0.0f;  // relu's kink
    std::vector<float> r(n), want(n), got(n), dr(n), want_dx(n), got_dx(n);
    std::vector<uint8_t> mask(n);
    relu_forward(n, x.data(), r.data());
    dropout_forward(n, r.data(), p, 9, offset, want.data(), mask.data());
    relu_dropout_forward(n, x.data(), p, 9, offset, got.data());
    EXPECT_EQ(got, want) << n << " p=" << p;
    dropout_backward(n, dy.data(), mask.data(), p, dr.data());
    relu_backward(n, r.data(), dr.data(), want_dx.data());
    relu_dropout_backward(n, got.data(), dy.data(), p, got_dx.data());
    EXPECT_EQ(got_dx, want_dx) << n << " p=" << p;
    relu_dropout_backward(n, got.data(), dy.data(), p, dy.data());  // in place, dx over dy
    EXPECT_EQ(dy, want_dx);
  }
  std::vector<float> x(4);
  EXPECT_THROW(relu_dropout_forward(4, x.data(), 1.0f, 0, 0, x.data()), Error);
  EXPECT_THROW(relu_dropout_backward(4, x.data(), x.data(), -0.5f, x.data()), Error);
}

TEST(Dropout, InPlaceForward) {
  const int64_t n = 1000;
  std::vector<float> x = random_floats(n), y(n);
  dropout_forward(n, x.data(), 0.5f, 3, 0, y.data(), nullptr);
  dropout_forward(n, x.data(), 0.5f, 3, 0, x.data(), nullptr);
  EXPECT_EQ(x, y);
}

TEST(Dropout, BadProbabilityThrows) {
  std::vector<float> x(4);
  std::vector<uint8_t> m(4);
  for (float p : {1.0f, -0.1f, 1.5f, std::nanf("")}) {
    try {
      dropout_forward(4, x.data(), p, 0, 0, x.data(), m.data());
      FAIL() << "no throw for p = " << p;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("dropout_forward: p = "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("must be in [0, 1)"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(dropout_backward(4, x.data(), nullptr, 0.5f, x.data()), Error);
  EXPECT_THROW(dropout_forward(0, x.data(), 0.5f, 0, 0, x.data(), m.data()), Error);
}

}  // namespace
}  // namespace attn::kernels
