// BCE with logits and MSE: kernels against double-precision references (losses, and gradients by central
// differences of the double loss), on random shapes with odd sizes, extreme logits, per-class and scalar
// pos_weight and every reduction; the autograd ops by finite differences (gradcheck) for both inputs; the same
// bits on any thread count; and the shape errors.
#include "attn/autograd/ops/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attn/core/threads.h"
#include "autograd/gradcheck.h"
#include "optim/test_helpers.h"
#include "support/test_util.h"

namespace attn::autograd {
namespace {

using kernels::Reduction;
using testing::random_floats;
using testing::random_int;
using testing::throws_with;

constexpr Reduction kReductions[] = {Reduction::kNone, Reduction::kMean, Reduction::kSum};

// Per-element losses in double, and their reduction.
std::vector<double> bce_reference(const std::vector<double>& x, const std::vector<double>& y,
                                  const std::vector<float>& pw, int64_t cols) {
  std::vector<double> l(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = pw.empty() ? 1.0 : double(pw.size() == 1 ? pw[0] : pw[i % size_t(cols)]);
    const double softplus_neg = std::max(-x[i], 0.0) + std::log1p(std::exp(-std::fabs(x[i])));  // -log sigmoid(x)
    const double softplus_pos = std::max(x[i], 0.0) + std::log1p(std::exp(-std::fabs(x[i])));   // -log(1 - sigmoid(x))
    l[i] = w * y[i] * softplus_neg + (1 - y[i]) * softplus_pos;
  }
  return l;
}

std::vector<double> reduce(const std::vector<double>& l, Reduction r) {
  if (r == Reduction::kNone) return l;
  double s = 0;
  for (double v : l) s += v;
  return {r == Reduction::kMean ? s / double(l.size()) : s};
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// sum(w * loss) in double, the scalar the gradient checks differentiate.
double weighted(const std::vector<double>& l, const std::vector<float>& w) {
  double s = 0;
  for (size_t i = 0; i < l.size(); ++i) s += l[i] * w[i];
  return s;
}

TEST(BceWithLogitsKernel, MatchesDoubleReferenceAndItsNumericGradient) {
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t rows = random_int(1, 9), cols = trial == 0 ? 40003 : random_int(1, 37);
    const int64_t n = rows * cols;
    const Reduction r = kReductions[trial % 3];
    std::vector<float> x = random_floats(n, -8.0f, 8.0f), y = random_floats(n, 0.0f, 1.0f);
    if (trial % 4 == 1) {
      for (float& v : y) v = v < 0.5f ? 0.0f : 1.0f;  // hard labels
    }
    std::vector<float> pw;
    if (trial % 3 == 1) pw = random_floats(cols, 0.2f, 4.0f);
    if (trial % 5 == 2) pw = random_floats(1, 0.2f, 4.0f);
    const float* pwp = pw.empty() ? nullptr : pw.data();
    const int64_t pw_cols = pw.size() == 1 ? 1 : cols, pw_rows = n / pw_cols;

    std::vector<float> loss(r == Reduction::kNone ? size_t(n) : 1);
    kernels::bce_with_logits_forward(x.data(), y.data(), pwp, pw_rows, pw_cols, r, loss.data());
    const std::vector<double> want = reduce(bce_reference(to_double(x), to_double(y), pw, cols), r);
    ASSERT_TRUE(testing::all_close(loss, want, 2e-6, 1e-7)) << "trial " << trial << " [" << rows << ", " << cols << "]";

    std::vector<float> dloss = random_floats(int64_t(loss.size()));
    std::vector<float> dx(static_cast<size_t>(n)), dy(static_cast<size_t>(n));
    kernels::bce_with_logits_backward(x.data(), y.data(), pwp, pw_rows, pw_cols, r, dloss.data(), dx.data(), dy.data());
    if (n > 2000) continue;  // numeric gradients cost O(n^2)
    const std::vector<double> xd = to_double(x), yd = to_double(y);
    auto f_of_x = [&](const std::vector<double>& v) {
      return weighted(reduce(bce_reference(v, yd, pw, cols), r), dloss);
    };
    auto f_of_y = [&](const std::vector<double>& v) {
      return weighted(reduce(bce_reference(xd, v, pw, cols), r), dloss);
    };
    ASSERT_TRUE(testing::all_close(dx, testing::numeric_gradient(f_of_x, xd), 1e-5, 1e-7)) << "dx, trial " << trial;
    ASSERT_TRUE(testing::all_close(dy, testing::numeric_gradient(f_of_y, yd), 1e-5, 1e-7)) << "dy, trial " << trial;
  }
}

// Far from 0 the loss is either ~|x| or a tiny log1p(e^-|x|); both keep their relative precision, and the
// gradients saturate at exactly the right limits, never NaN.
TEST(BceWithLogitsKernel, ExtremeLogitsStayAccurate) {
  std::vector<float> x{-1e4f, -100.0f, -30.0f, -17.0f, -1e-4f, 0.0f, 1e-4f, 17.0f, 30.0f, 100.0f, 1e4f};
  for (float label : {0.0f, 1.0f, 0.3f}) {
    std::vector<float> y(x.size(), label), loss(x.size()), dx(x.size()), dy(x.size()), ones(x.size(), 1.0f);
    kernels::bce_with_logits_forward(x.data(), y.data(), nullptr, 1, int64_t(x.size()), Reduction::kNone, loss.data());
    EXPECT_TRUE(testing::all_close(loss, bce_reference(to_double(x), to_double(y), {}, int64_t(x.size())), 1e-5, 1e-37))
        << "y = " << label;
    kernels::bce_with_logits_backward(x.data(), y.data(), nullptr, 1, int64_t(x.size()), Reduction::kNone, ones.data(),
                                      dx.data(), dy.data());
    std::vector<double> want_dx, want_dy;
    for (float v : x) {
      // sigmoid(x) - y, written so that double keeps the tiny results' digits
      const double sig = 1.0 / (1.0 + std::exp(-double(v))), sig_neg = 1.0 / (1.0 + std::exp(double(v)));
      want_dx.push_back((1.0 - label) * sig - label * sig_neg);
      want_dy.push_back(-double(v));
    }
    EXPECT_TRUE(testing::all_close(dx, want_dx, 1e-5, 1e-37)) << "y = " << label;
    EXPECT_TRUE(testing::all_close(dy, want_dy, 1e-6, 0.0)) << "y = " << label;
  }
}

TEST(BceWithLogitsKernel, NanPropagatesAndBadSizesThrow) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x{0.5f, nan, -2.0f}, y{1.0f, 0.0f, nan}, loss(3), dx(3), dy(3), ones(3, 1.0f);
  kernels::bce_with_logits_forward(x.data(), y.data(), nullptr, 1, 3, Reduction::kNone, loss.data());
  kernels::bce_with_logits_backward(x.data(), y.data(), nullptr, 1, 3, Reduction::kNone, ones.data(), dx.data(),
                                    dy.data());
  EXPECT_TRUE(std::isfinite(loss[0]) && std::isfinite(dx[0]) && std::isfinite(dy[0]));
  EXPECT_TRUE(std::isnan(loss[1]) && std::isnan(dx[1]) && std::isnan(dy[1]));
  EXPECT_TRUE(std::isnan(loss[2]) && std::isnan(dx[2]));
  float l = 0;
  EXPECT_TRUE(
      throws_with([&] { kernels::bce_with_logits_forward(x.data(), y.data(), nullptr, 0, 3, Reduction::kMean, &l); },
                  {"bce_with_logits_forward: shape [0, 3]"}));
  EXPECT_TRUE(throws_with([&] { kernels::mse_forward(x.data(), nullptr, 3, Reduction::kSum, &l); },
                          {"mse_forward: null pointer for 3 elements"}));
}

TEST(MseKernel, MatchesDoubleReference) {
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t n = trial == 0 ? 50001 : random_int(1, 300);
    const Reduction r = kReductions[trial % 3];
    std::vector<float> x = random_floats(n, -3.0f, 3.0f), y = random_floats(n, -3.0f, 3.0f);
    std::vector<double> l(static_cast<size_t>(n));
    for (size_t i = 0; i < l.size(); ++i) l[i] = (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    std::vector<float> loss(r == Reduction::kNone ? size_t(n) : 1);
    kernels::mse_forward(x.data(), y.data(), n, r, loss.data());
    ASSERT_TRUE(testing::all_close(loss, reduce(l, r), 1e-6, 1e-7)) << "trial " << trial;
    std::vector<float> dloss = random_floats(int64_t(loss.size())), dx(static_cast<size_t>(n)),
                       dy(static_cast<size_t>(n));
    kernels::mse_backward(x.data(), y.data(), n, r, dloss.data(), dx.data(), dy.data());
    std::vector<double> want(static_cast<size_t>(n));
    for (size_t i = 0; i < want.size(); ++i) {
      const double g = r == Reduction::kNone ? dloss[i] : r == Reduction::kMean ? dloss[0] / double(n) : dloss[0];
      want[i] = 2.0 * (double(x[i]) - y[i]) * g;
    }
    ASSERT_TRUE(testing::all_close(dx, want, 1e-6, 1e-9));
    for (double& w : want) w = -w;
    ASSERT_TRUE(testing::all_close(dy, want, 1e-6, 1e-9));
  }
}

TEST(LossKernels, ReductionsGiveTheSameBitsOnAnyThreadCount) {
  const int64_t n = 200003;
  std::vector<float> x = random_floats(n, -5.0f, 5.0f), y = random_floats(n, 0.0f, 1.0f);
  auto run = [&](int threads) {
    set_num_threads(threads);
    float bce = 0, mse = 0;
    kernels::bce_with_logits_forward(x.data(), y.data(), nullptr, 1, n, Reduction::kSum, &bce);
    kernels::mse_forward(x.data(), y.data(), n, Reduction::kMean, &mse);
    return std::pair{bce, mse};
  };
  const int keep = num_threads();
  auto one = run(1), two = run(2), three = run(3);
  set_num_threads(keep);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
}

// The autograd ops by finite differences, for logits/input and targets alike.
TEST(LossOps, GradcheckBothInputsEveryReduction) {
  for (Reduction r : kReductions) {
    const Shape shape{random_int(1, 4), random_int(1, 5), random_int(1, 7)};
    BceOptions o;
    o.reduction = r;
    EXPECT_TRUE(testing::gradcheck(
        [&](const std::vector<Var>& in) { return binary_cross_entropy_with_logits(in[0], in[1], o); }, {shape, shape},
        1e-2, 2e-2, 2e-3, -3.0f, 3.0f))
        << kernels::reduction_name(r);
    o.pos_weight = Tensor::from_vector({shape.back()}, random_floats(shape.back(), 0.5f, 3.0f));
    EXPECT_TRUE(testing::gradcheck(
        [&](const std::vector<Var>& in) { return binary_cross_entropy_with_logits(in[0], in[1], o); }, {shape, shape},
        1e-2, 2e-2, 2e-3, -3.0f, 3.0f))
        << "pos_weight, " << kernels::reduction_name(r);
    EXPECT_TRUE(
        testing::gradcheck([&](const std::vector<Var>& in) { return mse_loss(in[0], in[1], r); }, {shape, shape}))
        << kernels::reduction_name(r);
  }
}

TEST(LossOps, ShapesAndNonContiguousInputs) {
  Tensor x = Tensor::from_vector({3, 2}, random_floats(6, -2.0f, 2.0f)),
         y = Tensor::from_vector({2, 3}, random_floats(6, 0.0f, 1.0f));
  // A transposed target is read through its strides: the loss equals the one on a contiguous copy.
  Var a = binary_cross_entropy_with_logits(Var(x), Var(y.transpose(0, 1)));
  Var b = binary_cross_entropy_with_logits(Var(x), Var(y.transpose(0, 1).contiguous()));
  EXPECT_EQ(a.shape(), Shape{});
  EXPECT_EQ(a.value().to_vector(), b.value().to_vector());
  BceOptions none;
  none.reduction = Reduction::kNone;
  EXPECT_EQ(binary_cross_entropy_with_logits(Var(x), Var(y.transpose(0, 1)), none).shape(), (Shape{3, 2}));
  EXPECT_EQ(mse_loss(Var(x), Var(x), Reduction::kNone).shape(), (Shape{3, 2}));
  EXPECT_EQ(mse_loss(Var(x), Var(x)).value().to_vector(), std::vector<float>{0.0f});
}

TEST(LossOps, ErrorsNameTheOpAndShapes) {
  Var x(Tensor::zeros({4, 3}), true), y(Tensor::zeros({4, 2}));
  EXPECT_TRUE(throws_with([&] { binary_cross_entropy_with_logits(x, y); },
                          {"binary_cross_entropy_with_logits", "[4, 3]", "[4, 2]"}));
  EXPECT_TRUE(throws_with([&] { mse_loss(x, y); }, {"mse_loss", "[4, 3]", "[4, 2]"}));
  BceOptions o;
  o.pos_weight = Tensor::zeros({2});
  EXPECT_TRUE(throws_with([&] { binary_cross_entropy_with_logits(x, x, o); },
                          {"binary_cross_entropy_with_logits: pos_weight of shape [2] must be [3]"}));
  EXPECT_TRUE(throws_with([&] { mse_loss(Var(Tensor::zeros({0, 3})), Var(Tensor::zeros({0, 3}))); }, {"mse_loss"}));
}

}  // namespace
}  // namespace attn::autograd
