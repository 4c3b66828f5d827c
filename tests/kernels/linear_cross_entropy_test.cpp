// Fused projection + cross-entropy against a double-precision reference (logits in double, log-softmax, label
// smoothing, ignore_index): loss, per-row loss and argmax, the three gradients, over shapes from one row to many
// chunks and waves, 1-3 threads; the reference's gradients against finite differences; argument checks.
#include "attn/kernels/linear_cross_entropy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using attn::testing::all_close;
using attn::testing::expect_error;
using attn::testing::numeric_gradient;
using attn::testing::random_floats;
using attn::testing::random_int;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

struct Case {
  int64_t rows, dim, vocab;
  std::vector<float> h, w, b;  // b empty: no bias
  std::vector<int32_t> t;
};

struct Ref {
  double loss = 0;
  std::vector<double> row_loss, dh, dw, db;
  std::vector<std::vector<double>> logits;  // per row, for judging argmax near ties
};

// Inputs as doubles so the finite-difference check can perturb them.
Ref reference(const Case& c, const std::vector<double>& h, const std::vector<double>& w, const std::vector<double>& b,
              const CrossEntropyOptions& opt) {
  const int64_t n = c.rows, d = c.dim, v = c.vocab;
  const double eps = opt.label_smoothing;
  Ref ref;
  ref.row_loss.assign(size_t(n), 0.0);
  ref.dh.assign(size_t(n * d), 0.0);
  ref.dw.assign(size_t(v * d), 0.0);
  ref.db.assign(size_t(v), 0.0);
  ref.logits.resize(size_t(n));
  int64_t counted = 0;
  for (int32_t t : c.t) counted += t != opt.ignore_index;
  for (int64_t r = 0; r < n; ++r) {
    const int32_t t = c.t[size_t(r)];
    if (t == opt.ignore_index) continue;
    std::vector<double>& x = ref.logits[size_t(r)];
    x.assign(size_t(v), 0.0);
    for (int64_t j = 0; j < v; ++j) {
      double s = b.empty() ? 0.0 : b[size_t(j)];
      for (int64_t k = 0; k < d; ++k) s += h[size_t(r * d + k)] * w[size_t(j * d + k)];
      x[size_t(j)] = s;
    }
    const double m = *std::max_element(x.begin(), x.end());
    double sum_exp = 0, sum_x = 0;
    for (double xj : x) sum_exp += std::exp(xj - m), sum_x += xj;
    const double lse = m + std::log(sum_exp);
    const double loss = (1 - eps) * (lse - x[size_t(t)]) + eps * (lse - sum_x / double(v));
    ref.row_loss[size_t(r)] = loss;
    ref.loss += loss / double(counted);
    for (int64_t j = 0; j < v; ++j) {
      const double g = (std::exp(x[size_t(j)] - lse) - eps / double(v) - (j == t ? 1 - eps : 0.0)) / double(counted);
      ref.db[size_t(j)] += g;
      for (int64_t k = 0; k < d; ++k) {
        ref.dh[size_t(r * d + k)] += g * w[size_t(j * d + k)];
        ref.dw[size_t(j * d + k)] += g * h[size_t(r * d + k)];
      }
    }
  }
  return ref;
}

Ref reference(const Case& c, const CrossEntropyOptions& opt) {
  return reference(c, {c.h.begin(), c.h.end()}, {c.w.begin(), c.w.end()}, {c.b.begin(), c.b.end()}, opt);
}

// Targets uniform in [0, vocab), every `ignore_every`-th row (from row 1) ignored; 0: none.
Case make_case(int64_t rows, int64_t dim, int64_t vocab, bool bias, int64_t ignore_every, float scale = 1.0f) {
  Case c{rows, dim, vocab, random_floats(rows * dim, -scale, scale), random_floats(vocab * dim), {}, {}};
  if (bias) c.b = random_floats(vocab);
  for (int64_t r = 0; r < rows; ++r) {
    const bool ignored = ignore_every > 0 && r % ignore_every == 1 % ignore_every;
    c.t.push_back(ignored ? -100 : int32_t(random_int(0, vocab - 1)));
  }
  return c;
}

struct Result {
  float loss = 0;
  std::vector<float> dh, dw, db, row_loss;
  std::vector<int32_t> argmax;
};

// Outputs start as NaN / garbage so a row or element the kernel forgets to write shows.
Result run(const Case& c, const CrossEntropyOptions& opt, bool grads = true) {
  Result r;
  r.dh.assign(size_t(c.rows * c.dim), kNan);
  r.dw.assign(size_t(c.vocab * c.dim), kNan);
  r.db.assign(size_t(c.vocab), kNan);
  r.row_loss.assign(size_t(c.rows), kNan);
  r.argmax.assign(size_t(c.rows), -7);
  LinearCrossEntropyOutputs out;
  if (grads) {
    out.grad_hidden = r.dh.data();
    out.grad_weight = r.dw.data();
    out.grad_bias = c.b.empty() ? nullptr : r.db.data();
  }
  out.row_loss = r.row_loss.data();
  out.argmax = r.argmax.data();
  r.loss = linear_cross_entropy(c.h.data(), c.w.data(), c.b.empty() ? nullptr : c.b.data(), c.t.data(), c.rows,
                                c.dim, c.vocab, opt, out);
  return r;
}

// Elementwise within rtol, plus an absolute slack relative to the largest expected value (sums of many terms).
::testing::AssertionResult close(const std::vector<float>& a, const std::vector<double>& e, double rtol = 1e-4) {
  double big = 0;
  for (double x : e) big = std::max(big, std::fabs(x));
  return all_close(a, e, rtol, rtol * big + 1e-6);
}

void expect_matches(const Case& c, const CrossEntropyOptions& opt, const std::string& what) {
  const Ref ref = reference(c, opt);
  const Result r = run(c, opt);
  EXPECT_NEAR(r.loss, ref.loss, 2e-5 * std::fabs(ref.loss) + 1e-6) << what;
  EXPECT_TRUE(close(r.row_loss, ref.row_loss, 2e-5)) << what << " row_loss";
  EXPECT_TRUE(close(r.dh, ref.dh)) << what << " grad_hidden";
  EXPECT_TRUE(close(r.dw, ref.dw)) << what << " grad_weight";
  if (!c.b.empty()) {
    EXPECT_TRUE(close(r.db, ref.db)) << what << " grad_bias";
  }
  for (int64_t i = 0; i < c.rows; ++i) {
    if (c.t[size_t(i)] == opt.ignore_index) {
      EXPECT_EQ(r.argmax[size_t(i)], -1) << what << " row " << i;
      continue;
    }
    // The float argmax may differ from the double one only between (near) ties.
    const std::vector<double>& x = ref.logits[size_t(i)];
    const int32_t a = r.argmax[size_t(i)];
    ASSERT_TRUE(a >= 0 && a < c.vocab) << what << " row " << i << " argmax " << a;
    EXPECT_LE(*std::max_element(x.begin(), x.end()) - x[size_t(a)], 1e-5) << what << " row " << i;
  }
  // Without gradient outputs: the same loss (the gradient pass must not feed back into it).
  EXPECT_EQ(run(c, opt, false).loss, r.loss) << what;
}

TEST(LinearCrossEntropyKernel, MatchesDoubleReference) {
  struct Shape3 {
    int64_t rows, dim, vocab;
  };
  // One row, three rows, vocab 1, vocab 17 and 33 (not a multiple of the vector width), odd dims, and enough rows
  // for several chunks and waves of them.
  for (Shape3 s : {Shape3{1, 5, 17}, {3, 7, 1}, {3, 8, 17}, {5, 31, 33}, {1000, 13, 96}, {130, 9, 1001}}) {
    for (float eps : {0.0f, 0.1f}) {
      for (int64_t ignore_every : {0, 3}) {
        for (bool bias : {false, true}) {
          CrossEntropyOptions opt;
          opt.label_smoothing = eps;
          const std::string what = "[" + std::to_string(s.rows) + ", " + std::to_string(s.dim) + "] x [" +
                                   std::to_string(s.vocab) + "] eps=" + std::to_string(eps) +
                                   " ignore_every=" + std::to_string(ignore_every) + " bias=" + std::to_string(bias);
          expect_matches(make_case(s.rows, s.dim, s.vocab, bias, ignore_every), opt, what);
        }
      }
    }
  }
}

TEST(LinearCrossEntropyKernel, LargeLogitsStayFinite) {
  // Logits in the hundreds: exp overflows unless the row max is subtracted first.
  CrossEntropyOptions opt;
  opt.label_smoothing = 0.1f;
  expect_matches(make_case(20, 16, 50, true, 4, 30.0f), opt, "large logits");
}

TEST(LinearCrossEntropyKernel, SameResultOnAnyThreadCount) {
  const int keep = num_threads();
  const Case c = make_case(700, 12, 500, true, 5);
  CrossEntropyOptions opt;
  opt.label_smoothing = 0.1f;
  const Ref ref = reference(c, opt);
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    const Result r = run(c, opt);
    EXPECT_NEAR(r.loss, ref.loss, 2e-5 * std::fabs(ref.loss)) << threads;
    EXPECT_TRUE(close(r.dh, ref.dh)) << threads;
    EXPECT_TRUE(close(r.dw, ref.dw)) << threads;
    EXPECT_TRUE(close(r.db, ref.db)) << threads;
    // Deterministic for a given thread count.
    const Result again = run(c, opt);
    EXPECT_EQ(again.loss, r.loss) << threads;
    EXPECT_EQ(again.dw, r.dw) << threads;
  }
  set_num_threads(keep);
}

TEST(LinearCrossEntropyKernel, ReferenceGradientsMatchFiniteDifferences) {
  // Pins the reference's gradient formulas (which the kernel is held to) to the derivative of its loss.
  const Case c = make_case(4, 3, 6, true, 3);
  CrossEntropyOptions opt;
  opt.label_smoothing = 0.1f;
  const std::vector<double> h(c.h.begin(), c.h.end()), w(c.w.begin(), c.w.end()), b(c.b.begin(), c.b.end());
  const Ref ref = reference(c, h, w, b, opt);
  auto loss_h = [&](const std::vector<double>& x) { return reference(c, x, w, b, opt).loss; };
  auto loss_w = [&](const std::vector<double>& x) { return reference(c, h, x, b, opt).loss; };
  auto loss_b = [&](const std::vector<double>& x) { return reference(c, h, w, x, opt).loss; };
  const std::vector<double> nh = numeric_gradient(loss_h, h), nw = numeric_gradient(loss_w, w);
  const std::vector<double> nb = numeric_gradient(loss_b, b);
  for (size_t i = 0; i < h.size(); ++i) EXPECT_NEAR(ref.dh[i], nh[i], 1e-7) << "hidden " << i;
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(ref.dw[i], nw[i], 1e-7) << "weight " << i;
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(ref.db[i], nb[i], 1e-7) << "bias " << i;
}

TEST(LinearCrossEntropyKernel, IgnoredRowsAndEmptyInput) {
  CrossEntropyOptions opt;
  opt.label_smoothing = 0.1f;
  Case c = make_case(6, 5, 9, true, 0);
  std::fill(c.t.begin(), c.t.end(), opt.ignore_index);
  Result r = run(c, opt);
  EXPECT_EQ(r.loss, 0.0f);
  for (const auto* v : {&r.dh, &r.dw, &r.db, &r.row_loss}) {
    EXPECT_TRUE(std::all_of(v->begin(), v->end(), [](float x) { return x == 0.0f; }));
  }
  EXPECT_EQ(r.argmax, std::vector<int32_t>(6, -1));

  c = make_case(0, 5, 9, true, 0);
  r = run(c, opt);
  EXPECT_EQ(r.loss, 0.0f);
  EXPECT_TRUE(std::all_of(r.dw.begin(), r.dw.end(), [](float x) { return x == 0.0f; }));

  // An ignore_index inside [0, vocab): rows with that target drop out, the others count.
  c = make_case(50, 6, 12, false, 0);
  opt.ignore_index = 3;
  expect_matches(c, opt, "ignore_index 3");
}

TEST(LinearCrossEntropyKernel, RejectsBadArguments) {
  Case c = make_case(3, 4, 17, false, 0);
  CrossEntropyOptions opt;
  c.t[2] = 17;
  expect_error([&] { run(c, opt); }, {"linear_cross_entropy", "target 17 at row 2", "[0, 17)", "[17, 4]"});
  c.t[2] = -1;
  expect_error([&] { run(c, opt); }, {"target -1 at row 2", "ignore_index -100"});
  c.t[2] = 0;
  opt.label_smoothing = 1.5f;
  expect_error([&] { run(c, opt); }, {"linear_cross_entropy", "label_smoothing 1.5"});
  opt.label_smoothing = 0.0f;
  c.dim = 0;
  expect_error([&] { run(c, opt); }, {"linear_cross_entropy", "hidden [3, 0]", "dim >= 1"});
}

}  // namespace
}  // namespace attn::kernels
