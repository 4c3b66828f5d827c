#include "attn/kernels/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

struct Dims {
  int64_t outer, n, inner;
};

std::vector<Dims> dims_to_test() {
  std::vector<Dims> d;
  for (int64_t outer : {1, 3})
    for (int64_t n : {1, 3, 17, 1000})
      for (int64_t inner : {1, 3, 17, 100}) d.push_back({outer, n, inner});
  d.push_back({1, 1 << 20, 1});   // one long row, split into chunks
  d.push_back({64, 4099, 1});     // rows across threads
  d.push_back({2, 3000, 67});     // columns across threads
  d.push_back({5, 2500, 8});      // exact vector width
  return d;
}

std::vector<double> ref_sum(const Dims& s, const std::vector<float>& x, double scale) {
  std::vector<double> r(s.outer * s.inner, 0.0);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.n; ++i)
      for (int64_t j = 0; j < s.inner; ++j) r[o * s.inner + j] += x[(o * s.n + i) * s.inner + j];
  for (double& v : r) v *= scale;
  return r;
}

// Max and its first index; a NaN wins at its first position.
void ref_max(const Dims& s, const std::vector<float>& x, std::vector<double>& m, std::vector<int64_t>& k) {
  m.assign(s.outer * s.inner, 0.0);
  k.assign(s.outer * s.inner, 0);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t j = 0; j < s.inner; ++j) {
      double best = x[o * s.n * s.inner + j];
      int64_t at = 0;
      for (int64_t i = 1; i < s.n && !std::isnan(best); ++i) {
        const double v = x[(o * s.n + i) * s.inner + j];
        if (std::isnan(v) || v > best) best = v, at = i;
      }
      m[o * s.inner + j] = best;
      k[o * s.inner + j] = at;
    }
}

TEST(Reduce, SumAndMeanMatchReference) {
  for (const Dims& s : dims_to_test()) {
    std::vector<float> x = random_floats(s.outer * s.n * s.inner), out(s.outer * s.inner);
    // Float rounding of the partial sums grows like sqrt(n) (a random walk), and random signs make the sum itself
    // small, so the absolute tolerance follows sqrt(n).
    const double atol = 1e-6 * std::sqrt(static_cast<double>(s.n));
    reduce_sum(s.outer, s.n, s.inner, x.data(), out.data());
    EXPECT_TRUE(all_close(out, ref_sum(s, x, 1.0), 1e-5, atol)) << s.outer << " " << s.n << " " << s.inner;
    reduce_mean(s.outer, s.n, s.inner, x.data(), out.data());
    EXPECT_TRUE(all_close(out, ref_sum(s, x, 1.0 / s.n), 1e-5, atol / s.n)) << s.outer << " " << s.n << " " << s.inner;
  }
}

TEST(Reduce, LongSumsStayAccurate) {
  const int64_t n = 3000000;
  std::vector<float> x(n, 0.1f);
  const double want = n * static_cast<double>(0.1f);
  EXPECT_NEAR(sum_all(n, x.data()), want, want * 1e-6);
  std::vector<float> out(3);
  reduce_sum(1, n / 3, 3, x.data(), out.data());  // 1e6 values per column
  for (float v : out) EXPECT_NEAR(v, want / 3, want / 3 * 1e-6);
}

TEST(Reduce, SumsDoNotDependOnThreadCount) {
  const int keep = num_threads();
  std::vector<float> x = random_floats(1 << 21);
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<float> r(1 + 64 + 2 * 67);
    r[0] = sum_all(1 << 21, x.data());
    reduce_sum(64, (1 << 21) / 64, 1, x.data(), r.data() + 1);
    reduce_sum(2, 15000, 67, x.data(), r.data() + 65);
    if (first.empty()) first = r;
    EXPECT_EQ(r, first) << threads << " threads";
  }
  set_num_threads(keep);
}

TEST(Reduce, MaxMatchesReferenceWithFirstIndexOnTies) {
  for (const Dims& s : dims_to_test()) {
    std::vector<float> x = random_floats(s.outer * s.n * s.inner);
    for (float& v : x) v = std::round(v * 8.0f);  // many ties
    std::vector<float> out(s.outer * s.inner);
    std::vector<int64_t> idx(out.size());
    std::vector<double> m;
    std::vector<int64_t> k;
    ref_max(s, x, m, k);
    reduce_max(s.outer, s.n, s.inner, x.data(), out.data(), idx.data());
    EXPECT_TRUE(all_close(out, m, 0.0, 0.0)) << s.outer << " " << s.n << " " << s.inner;
    EXPECT_EQ(idx, k) << s.outer << " " << s.n << " " << s.inner;
  }
}

TEST(Reduce, MaxHandlesNaNAndInfinities) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  for (int64_t n : {3, 17, 40}) {
    for (int64_t inner : {1, 5}) {
      const Dims s{4, n, inner};
      std::vector<float> x = random_floats(4 * n * inner);
      x[(0 * n + n / 2) * inner] = nan;       // row 0: NaN in the middle
      x[(0 * n + n - 1) * inner] = inf;
      x[(1 * n + n - 1) * inner] = inf;       // row 1: inf last
      for (int64_t i = 0; i < n; ++i) x[(2 * n + i) * inner] = -inf;  // row 2: all -inf
      x[(3 * n + n - 1) * inner] = nan;       // row 3: NaN in the tail
      std::vector<float> out(4 * inner);
      std::vector<int64_t> idx(out.size());
      std::vector<double> m;
      std::vector<int64_t> k;
      ref_max(s, x, m, k);
      reduce_max(4, n, inner, x.data(), out.data(), idx.data());
      EXPECT_TRUE(all_close(out, m, 0.0, 0.0)) << n << " " << inner;
      EXPECT_EQ(idx, k) << n << " " << inner;
    }
  }
}

TEST(Reduce, BackwardsMatchFiniteDifferences) {
  for (const Dims& s : {Dims{1, 1, 1}, Dims{2, 3, 1}, Dims{3, 17, 1}, Dims{2, 5, 17}, Dims{1, 1000, 1}}) {
    const int64_t total = s.outer * s.n * s.inner, m = s.outer * s.inner;
    std::vector<float> x = random_floats(total), w = random_floats(m), dx(total), out(m);
    std::vector<int64_t> idx(m);
    auto check = [&](const char* name, auto forward) {
      auto f = [&](const std::vector<double>& xd) {
        std::vector<float> xf(xd.begin(), xd.end());  // max is piecewise linear: float inputs are exact enough
        std::vector<double> y = forward(xd);
        double r = 0;
        for (int64_t i = 0; i < m; ++i) r += w[i] * y[i];
        return r;
      };
      std::vector<double> g = testing::numeric_gradient(f, std::vector<double>(x.begin(), x.end()));
      EXPECT_TRUE(all_close(dx, g, 1e-3, 1e-4)) << name << " " << s.outer << " " << s.n << " " << s.inner;
    };
    reduce_sum_backward(s.outer, s.n, s.inner, w.data(), dx.data());
    check("sum", [&](const std::vector<double>& xd) {
      std::vector<double> y(m, 0.0);
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.n; ++i)
          for (int64_t j = 0; j < s.inner; ++j) y[o * s.inner + j] += xd[(o * s.n + i) * s.inner + j];
      return y;
    });
    reduce_mean_backward(s.outer, s.n, s.inner, w.data(), dx.data());
    check("mean", [&](const std::vector<double>& xd) {
      std::vector<double> y(m, 0.0);
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.n; ++i)
          for (int64_t j = 0; j < s.inner; ++j) y[o * s.inner + j] += xd[(o * s.n + i) * s.inner + j] / s.n;
      return y;
    });
    reduce_max(s.outer, s.n, s.inner, x.data(), out.data(), idx.data());
    std::fill(dx.begin(), dx.end(), 7.0f);  // must be overwritten
    reduce_max_backward(s.outer, s.n, s.inner, w.data(), idx.data(), dx.data());
    check("max", [&](const std::vector<double>& xd) {
      std::vector<double> y(m, -1e300);
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.n; ++i)
          for (int64_t j = 0; j < s.inner; ++j)
            y[o * s.inner + j] = std::max(y[o * s.inner + j], xd[(o * s.n + i) * s.inner + j]);
      return y;
    });
  }
}

TEST(Reduce, SumAll) {
  for (int64_t n : {1, 3, 17, 1000, 100003}) {
    std::vector<float> x = random_floats(n), dx(n);
    double want = 0;
    for (float v : x) want += v;
    EXPECT_NEAR(sum_all(n, x.data()), want, 1e-5 * (1 + std::fabs(want)));
    sum_all_backward(n, 2.5f, dx.data());
    EXPECT_EQ(dx, std::vector<float>(n, 2.5f));
  }
}

TEST(Reduce, BadArgumentsThrow) {
  std::vector<float> x(12), out(12);
  std::vector<int64_t> idx(4, 0);
  try {
    reduce_sum(3, 0, 4, x.data(), out.data());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "reduce_sum: [outer, n, inner] = [3, 0, 4] must all be >= 1");
  }
  EXPECT_THROW(reduce_max(3, 4, 1, nullptr, out.data(), nullptr), Error);
  idx[2] = 3;
  try {
    reduce_max_backward(1, 3, 4, x.data(), idx.data(), out.data());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("argmax 3 at position 2 is outside [0, 3)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace attn::kernels
