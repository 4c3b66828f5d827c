// Fused cross-entropy against a double-precision reference of PyTorch's F.cross_entropy (mean over rows not
// ignored, label smoothing): loss, log-sum-exp, finite-difference gradients, big vocabularies, argument checks.
#include "attn/kernels/cross_entropy.h"

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
using attn::testing::random_int;

struct Ref {
  double loss = 0;
  std::vector<double> lse;
};

// loss_row = (1-eps)*(lse - x[t]) + eps/C * sum_c (lse - x[c]), mean over counted rows (0 if none).
Ref ref_cross_entropy(const std::vector<double>& x, const std::vector<int32_t>& t, int64_t rows, int64_t classes,
                      const CrossEntropyOptions& opt) {
  Ref ref;
  const double eps = opt.label_smoothing;
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x.data() + r * classes;
    double m = -std::numeric_limits<double>::infinity(), s = 0, sum_x = 0;
    for (int64_t c = 0; c < classes; ++c) m = std::max(m, xr[c]);
    for (int64_t c = 0; c < classes; ++c) s += std::exp(xr[c] - m), sum_x += xr[c];
    const double lse = m + std::log(s);
    ref.lse.push_back(lse);
    if (t[size_t(r)] == opt.ignore_index) continue;
    ++counted;
    ref.loss += (1 - eps) * (lse - xr[t[size_t(r)]]);
    if (eps > 0) ref.loss += eps / double(classes) * (double(classes) * lse - sum_x);  // 0 * inf is not 0
  }
  if (counted > 0) ref.loss /= double(counted);
  return ref;
}

// Targets in [0, classes), every third row ignored when `ignore`.
std::vector<int32_t> random_targets(int64_t rows, int64_t classes, bool ignore, int32_t ignore_index = -100) {
  std::vector<int32_t> t(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) t[size_t(r)] = int32_t(random_int(0, classes - 1));
  if (ignore) {
    for (int64_t r = 1; r < rows; r += 3) t[size_t(r)] = ignore_index;
  }
  return t;
}

void expect_forward_matches(const std::vector<float>& x, const std::vector<int32_t>& t, int64_t rows, int64_t classes,
                            const CrossEntropyOptions& opt, const std::string& what) {
  std::vector<float> lse(size_t(rows), -1.0f);
  const float loss = cross_entropy_forward(x.data(), t.data(), rows, classes, opt, lse.data());
  const Ref ref = ref_cross_entropy({x.begin(), x.end()}, t, rows, classes, opt);
  EXPECT_NEAR(loss, ref.loss, 1e-5 * std::fabs(ref.loss) + 1e-6) << what;
  EXPECT_TRUE(all_close(lse, ref.lse, 1e-6, 1e-6)) << what;
}

TEST(CrossEntropyForward, MatchesReference) {
  for (int64_t rows : {1, 7, 64}) {
    for (int64_t classes : {1, 3, 8, 17, 1000, 8003}) {
      for (float eps : {0.0f, 0.1f}) {
        for (bool ignore : {false, true}) {
          CrossEntropyOptions opt;
          opt.label_smoothing = eps;
          const std::vector<float> x = random_floats(rows * classes, -10.0f, 10.0f);
          const std::string what = "[" + std::to_string(rows) + ", " + std::to_string(classes) +
                                   "] eps=" + std::to_string(eps) + " ignore=" + std::to_string(ignore);
          expect_forward_matches(x, random_targets(rows, classes, ignore), rows, classes, opt, what);
        }
      }
    }
  }
}

TEST(CrossEntropyForward, ExtremeLogitsStayFinite) {
  const int64_t rows = 6, classes = 37;
  std::vector<float> x = random_floats(rows * classes, -50.0f, 50.0f);
  const float pool[] = {1e4f, -1e4f, 88.0f, -88.0f, 89.0f};
  for (size_t i = 0; i < x.size(); i += 5) x[i] = pool[random_int(0, 4)];
  for (float eps : {0.0f, 0.1f}) {
    CrossEntropyOptions opt;
    opt.label_smoothing = eps;
    const std::vector<int32_t> t = random_targets(rows, classes, false);
    std::vector<float> lse(rows), d(x.size());
    EXPECT_TRUE(std::isfinite(cross_entropy_forward(x.data(), t.data(), rows, classes, opt, lse.data())));
    cross_entropy_backward(x.data(), t.data(), lse.data(), rows, classes, opt, 1.0f, d.data());
    for (float v : d) ASSERT_TRUE(std::isfinite(v));
    expect_forward_matches(x, t, rows, classes, opt, "extremes eps=" + std::to_string(eps));
  }
}

// -inf logits (a masked vocabulary) away from the target: finite loss, zero gradient there.
TEST(CrossEntropyForward, MaskedLogitsGetZeroGradient) {
  const int64_t rows = 4, classes = 50;
  std::vector<float> x = random_floats(rows * classes, -3.0f, 3.0f);
  std::vector<int32_t> t = {0, 1, 2, 3};
  for (int64_t r = 0; r < rows; ++r) x[size_t(r * classes + 40 + r)] = -std::numeric_limits<float>::infinity();
  std::vector<float> lse(rows), d(x.size());
  const CrossEntropyOptions opt;
  EXPECT_TRUE(std::isfinite(cross_entropy_forward(x.data(), t.data(), rows, classes, opt, lse.data())));
  cross_entropy_backward(x.data(), t.data(), lse.data(), rows, classes, opt, 1.0f, d.data());
  for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(d[size_t(r * classes + 40 + r)], 0.0f);
  expect_forward_matches(x, t, rows, classes, opt, "masked");
}

TEST(CrossEntropyForward, AllRowsIgnoredGivesZero) {
  const int64_t rows = 5, classes = 11;
  const std::vector<float> x = random_floats(rows * classes);
  const std::vector<int32_t> t(rows, -100);
  std::vector<float> lse(rows), d(x.size(), 3.0f);
  EXPECT_EQ(cross_entropy_forward(x.data(), t.data(), rows, classes, {}, lse.data()), 0.0f);
  cross_entropy_backward(x.data(), t.data(), lse.data(), rows, classes, {}, 1.0f, d.data());
  for (float v : d) ASSERT_EQ(v, 0.0f);
  EXPECT_EQ(cross_entropy_forward(nullptr, nullptr, 0, classes, {}, nullptr), 0.0f);
}

// An ignore_index inside [0, classes) (e.g. a padding token id) ignores those rows.
TEST(CrossEntropyForward, IgnoreIndexInsideClassRange) {
  const int64_t rows = 9, classes = 13;
  CrossEntropyOptions opt;
  opt.ignore_index = 0;
  std::vector<int32_t> t = random_targets(rows, classes, true, 0);
  t[0] = 5;
  expect_forward_matches(random_floats(rows * classes, -4.0f, 4.0f), t, rows, classes, opt, "ignore_index=0");
}

// d(grad_loss * mean loss)/d logits numerically in double vs the backward kernel.
TEST(CrossEntropyBackward, MatchesFiniteDifferences) {
  for (int64_t classes : {1, 3, 17, 40}) {
    for (float eps : {0.0f, 0.1f}) {
      for (bool ignore : {false, true}) {
        const int64_t rows = 5;
        const float grad_loss = 0.7f;
        CrossEntropyOptions opt;
        opt.label_smoothing = eps;
        const std::vector<float> x = random_floats(rows * classes, -3.0f, 3.0f);
        const std::vector<int32_t> t = random_targets(rows, classes, ignore);
        auto f = [&](const std::vector<double>& xd) {
          return grad_loss * ref_cross_entropy(xd, t, rows, classes, opt).loss;
        };
        const std::vector<double> want = numeric_gradient(f, {x.begin(), x.end()}, 1e-5);
        std::vector<float> lse(rows), d(x.size(), 42.0f);
        cross_entropy_forward(x.data(), t.data(), rows, classes, opt, lse.data());
        cross_entropy_backward(x.data(), t.data(), lse.data(), rows, classes, opt, grad_loss, d.data());
        EXPECT_TRUE(all_close(d, want, 1e-3, 1e-6)) << "classes=" << classes << " eps=" << eps << " ignore=" << ignore;
        for (int64_t r = 1; ignore && r < rows; r += 3) {
          for (int64_t c = 0; c < classes; ++c) ASSERT_EQ(d[size_t(r * classes + c)], 0.0f);
        }
      }
    }
  }
}

// A vocabulary-sized problem (over 16 MiB of gradient: the streaming path) against the closed form in double.
TEST(CrossEntropyBackward, LargeVocabularyMatchesClosedForm) {
  const int64_t rows = 600, classes = 8000;
  for (float eps : {0.0f, 0.1f}) {
    CrossEntropyOptions opt;
    opt.label_smoothing = eps;
    const std::vector<float> x = random_floats(rows * classes, -8.0f, 8.0f);
    const std::vector<int32_t> t = random_targets(rows, classes, true);
    std::vector<float> lse(rows), d(x.size());
    const float loss = cross_entropy_forward(x.data(), t.data(), rows, classes, opt, lse.data());
    const Ref ref = ref_cross_entropy({x.begin(), x.end()}, t, rows, classes, opt);
    EXPECT_NEAR(loss, ref.loss, 1e-5 * ref.loss);
    cross_entropy_backward(x.data(), t.data(), lse.data(), rows, classes, opt, 2.0f, d.data());
    int64_t counted = 0;
    for (int32_t v : t) counted += v != opt.ignore_index;
    std::vector<double> want(x.size(), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      if (t[size_t(r)] == opt.ignore_index) continue;
      for (int64_t c = 0; c < classes; ++c) {
        const size_t i = size_t(r * classes + c);
        want[i] = 2.0 / double(counted) *
                  (std::exp(double(x[i]) - ref.lse[size_t(r)]) - (1 - eps) * (c == t[size_t(r)]) - eps / classes);
      }
    }
    EXPECT_TRUE(all_close(d, want, 1e-4, 1e-10)) << "eps=" << eps;
  }
}

TEST(CrossEntropyForward, BadArgumentsThrowNamingOpAndShape) {
  const std::vector<float> x(12);
  std::vector<float> lse(3), d(12);
  const std::vector<int32_t> bad_high = {0, 4, 1}, bad_low = {0, -1, 1}, ok = {0, 1, 2};
  expect_error([&] { cross_entropy_forward(x.data(), bad_high.data(), 3, 4, {}, lse.data()); },
               {"cross_entropy_forward", "target 4", "[3, 4]"});
  expect_error([&] { cross_entropy_forward(x.data(), bad_low.data(), 3, 4, {}, lse.data()); },
               {"cross_entropy_forward", "target -1", "[3, 4]"});
  expect_error([&] { cross_entropy_backward(x.data(), bad_high.data(), lse.data(), 3, 4, {}, 1.0f, d.data()); },
               {"cross_entropy_backward", "target 4", "[3, 4]"});
  expect_error([&] { cross_entropy_forward(x.data(), ok.data(), 3, 0, {}, lse.data()); },
               {"cross_entropy_forward", "[3, 0]"});
  expect_error([&] { cross_entropy_forward(x.data(), ok.data(), -3, 4, {}, lse.data()); },
               {"cross_entropy_forward", "[-3, 4]"});
  for (float eps : {-0.1f, 1.5f, std::nanf("")}) {
    CrossEntropyOptions opt;
    opt.label_smoothing = eps;
    expect_error([&] { cross_entropy_forward(x.data(), ok.data(), 3, 4, opt, lse.data()); },
                 {"cross_entropy_forward", "label_smoothing", "[3, 4]"});
    expect_error([&] { cross_entropy_backward(x.data(), ok.data(), lse.data(), 3, 4, opt, 1.0f, d.data()); },
                 {"cross_entropy_backward", "label_smoothing", "[3, 4]"});
  }
  expect_error([&] { cross_entropy_backward(x.data(), ok.data(), nullptr, 3, 4, {}, 1.0f, d.data()); },
               {"cross_entropy_backward", "null", "[3, 4]"});
}

}  // namespace
}  // namespace attn::kernels
