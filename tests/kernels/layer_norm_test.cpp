#include "attn/kernels/layer_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

constexpr float kEps = 1e-5f;

// y = (x - mean) / sqrt(var + eps) * gamma + beta in double; gamma/beta empty = no affine.
std::vector<double> ref_forward(int64_t rows, int64_t n, const std::vector<double>& x, const std::vector<double>& g,
                                const std::vector<double>& b, std::vector<double>* mean = nullptr,
                                std::vector<double>* rstd = nullptr) {
  std::vector<double> y(rows * n);
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < n; ++j) mu += x[r * n + j];
    mu /= n;
    for (int64_t j = 0; j < n; ++j) var += (x[r * n + j] - mu) * (x[r * n + j] - mu);
    const double rs = 1.0 / std::sqrt(var / n + kEps);
    for (int64_t j = 0; j < n; ++j) {
      y[r * n + j] = (x[r * n + j] - mu) * rs * (g.empty() ? 1.0 : g[j]) + (b.empty() ? 0.0 : b[j]);
    }
    if (mean) mean->push_back(mu);
    if (rstd) rstd->push_back(rs);
  }
  return y;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

TEST(LayerNorm, ForwardMatchesReference) {
  for (int64_t rows : {1, 3, 64}) {
    for (int64_t n : {1, 3, 17, 1000}) {
      for (bool affine : {true, false}) {
        std::vector<float> x = random_floats(rows * n, -3.0f, 3.0f), g = random_floats(n), b = random_floats(n);
        std::vector<float> y(rows * n), mean(rows), rstd(rows);
        layer_norm_forward(rows, n, x.data(), affine ? g.data() : nullptr, affine ? b.data() : nullptr, kEps,
                           y.data(), mean.data(), rstd.data());
        std::vector<double> want_mean, want_rstd;
        std::vector<double> want = ref_forward(rows, n, to_double(x), affine ? to_double(g) : std::vector<double>{},
                                               affine ? to_double(b) : std::vector<double>{}, &want_mean, &want_rstd);
        EXPECT_TRUE(all_close(y, want, 1e-5, 1e-5)) << rows << " " << n << " " << affine;
        EXPECT_TRUE(all_close(mean, want_mean, 1e-5, 1e-6)) << rows << " " << n;
        EXPECT_TRUE(all_close(rstd, want_rstd, 1e-5, 1e-6)) << rows << " " << n;
      }
    }
  }
}

TEST(LayerNorm, LargeOffsetsAndOnlyScaleOrShift) {
  const int64_t rows = 512, n = 768;  // parallel path
  std::vector<float> x = random_floats(rows * n), g = random_floats(n), b = random_floats(n), y(rows * n);
  for (float& v : x) v = 1000.0f + v;  // a one-pass E[x^2] - E[x]^2 would lose most digits here
  layer_norm_forward(rows, n, x.data(), g.data(), nullptr, kEps, y.data(), nullptr, nullptr);
  EXPECT_TRUE(all_close(y, ref_forward(rows, n, to_double(x), to_double(g), {}), 1e-5, 1e-5));
  layer_norm_forward(rows, n, x.data(), nullptr, b.data(), kEps, y.data(), nullptr, nullptr);
  EXPECT_TRUE(all_close(y, ref_forward(rows, n, to_double(x), {}, to_double(b)), 1e-5, 1e-5));
}

// f(x, gamma, beta) = sum w * layer_norm(x) in double; dx, dgamma, dbeta from the kernel with dy = w.
TEST(LayerNorm, BackwardMatchesFiniteDifferences) {
  for (int64_t rows : {1, 3, 7}) {
    for (int64_t n : {1, 3, 17, 64}) {
      for (bool affine : {true, false}) {
        std::vector<float> x = random_floats(rows * n, -2.0f, 2.0f), g = random_floats(n, 0.5f, 1.5f),
                           b = random_floats(n), w = random_floats(rows * n);
        std::vector<float> y(rows * n), mean(rows), rstd(rows), dx(rows * n), dg(n), db(n);
        const float* gp = affine ? g.data() : nullptr;
        layer_norm_forward(rows, n, x.data(), gp, affine ? b.data() : nullptr, kEps, y.data(), mean.data(),
                           rstd.data());
        layer_norm_backward(rows, n, x.data(), gp, mean.data(), rstd.data(), w.data(), dx.data(), dg.data(),
                            db.data());
        // Gradient with respect to [x, gamma, beta] at once.
        std::vector<double> p = to_double(x);
        p.insert(p.end(), g.begin(), g.end());
        p.insert(p.end(), b.begin(), b.end());
        auto f = [&](const std::vector<double>& v) {
          std::vector<double> xv(v.begin(), v.begin() + rows * n);
          std::vector<double> gv(v.begin() + rows * n, v.begin() + rows * n + n), bv(v.begin() + rows * n + n, v.end());
          std::vector<double> out = ref_forward(rows, n, xv, affine ? gv : std::vector<double>{},
                                                affine ? bv : std::vector<double>{});
          double s = 0;
          for (int64_t i = 0; i < rows * n; ++i) s += w[i] * out[i];
          return s;
        };
        std::vector<double> grad = testing::numeric_gradient(f, p);
        const std::string at = std::to_string(rows) + "x" + std::to_string(n) + (affine ? " affine" : "");
        EXPECT_TRUE(all_close(dx, std::vector<double>(grad.begin(), grad.begin() + rows * n), 1e-3, 1e-4)) << at;
        // Without gamma and beta, dgamma and dbeta are still the sums of dy * xhat and dy.
        std::vector<double> want_dg(n, 0.0), want_db(n, 0.0);
        std::vector<double> xhat = ref_forward(rows, n, to_double(x), {}, {});
        for (int64_t i = 0; i < rows * n; ++i) {
          want_dg[i % n] += w[i] * xhat[i];
          want_db[i % n] += w[i];
        }
        EXPECT_TRUE(all_close(dg, want_dg, 1e-4, 1e-5)) << at;
        EXPECT_TRUE(all_close(db, want_db, 1e-5, 1e-6)) << at;
        if (affine) {
          EXPECT_TRUE(all_close(dg, std::vector<double>(grad.begin() + rows * n, grad.begin() + rows * n + n), 1e-3,
                                1e-4))
              << at;
          EXPECT_TRUE(all_close(db, std::vector<double>(grad.begin() + rows * n + n, grad.end()), 1e-3, 1e-4)) << at;
        }
      }
    }
  }
}

// The many-chunk path against the closed form in double, and the same bits on any thread count.
TEST(LayerNorm, LargeBackwardIsAccurateAndThreadCountIndependent) {
  const int64_t rows = 1000, n = 300;
  std::vector<float> x = random_floats(rows * n), g = random_floats(n), b = random_floats(n), dy = random_floats(rows * n);
  std::vector<float> y(rows * n), mean(rows), rstd(rows);
  layer_norm_forward(rows, n, x.data(), g.data(), b.data(), kEps, y.data(), mean.data(), rstd.data());
  std::vector<double> xhat = ref_forward(rows, n, to_double(x), {}, {});
  std::vector<double> want_dx(rows * n), want_dg(n, 0.0), want_db(n, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double gj = dy[r * n + j] * g[j];
      sg += gj;
      sgx += gj * xhat[r * n + j];
      want_dg[j] += dy[r * n + j] * xhat[r * n + j];
      want_db[j] += dy[r * n + j];
    }
    for (int64_t j = 0; j < n; ++j) {
      want_dx[r * n + j] = rstd[r] * (dy[r * n + j] * g[j] - sg / n - xhat[r * n + j] * sgx / n);
    }
  }
  const int keep = num_threads();
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<float> dx(rows * n), dg(n, 5.0f), db(n, 5.0f);
    layer_norm_backward(rows, n, x.data(), g.data(), mean.data(), rstd.data(), dy.data(), dx.data(), dg.data(),
                        db.data());
    EXPECT_TRUE(all_close(dx, want_dx, 1e-4, 1e-5));
    EXPECT_TRUE(all_close(dg, want_dg, 1e-4, 1e-4));
    EXPECT_TRUE(all_close(db, want_db, 1e-4, 1e-4));
    std::vector<float> all = dx;
    all.insert(all.end(), dg.begin(), dg.end());
    all.insert(all.end(), db.begin(), db.end());
    if (first.empty()) first = all;
    EXPECT_EQ(all, first) << threads << " threads";
  }
  set_num_threads(keep);
}

TEST(LayerNorm, BadArgumentsThrow) {
  std::vector<float> x(12), y(12), s(3);
  try {
    layer_norm_forward(3, 0, x.data(), nullptr, nullptr, kEps, y.data(), s.data(), s.data());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "layer_norm_forward: [rows, n] = [3, 0] must both be >= 1");
  }
  EXPECT_THROW(layer_norm_forward(3, 4, x.data(), nullptr, nullptr, -1.0f, y.data(), nullptr, nullptr), Error);
  EXPECT_THROW(layer_norm_backward(3, 4, x.data(), nullptr, nullptr, s.data(), x.data(), y.data(), nullptr, nullptr),
               Error);
}

}  // namespace
}  // namespace attn::kernels
