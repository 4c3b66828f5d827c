// clip_grad_norm against norms computed in double: p = 2, 1, 3 and inf over several gradients of random shapes
// (one large enough for several threads), scaling only above max_norm, skipped parameters, non-finite norms.
#include "attn/optim/clip.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/test_helpers.h"
#include "support/test_util.h"

namespace attn::optim {
namespace {

using autograd::Var;
using testing::random_floats;
using testing::random_int;
using testing::throws_with;

std::vector<Var> params_with_grads(const std::vector<Shape>& shapes, float scale) {
  std::vector<Var> params;
  for (const Shape& s : shapes) {
    params.emplace_back(Tensor::zeros(s), true);
    std::vector<float> g = random_floats(shape_numel(s), -scale, scale);
    params.back().node()->grad = Tensor::from_vector(s, g);
  }
  return params;
}

double reference_norm(const std::vector<std::vector<float>>& grads, double p) {
  double acc = 0.0;
  for (const auto& g : grads) {
    for (float x : g)
      acc = std::isinf(p) ? std::max(acc, std::fabs(double(x))) : acc + std::pow(std::fabs(double(x)), p);
  }
  return std::isinf(p) ? acc : std::pow(acc, 1.0 / p);
}

TEST(ClipGradNorm, MatchesDoubleNormsAndScalesAboveMaxNorm) {
  const float kInf = std::numeric_limits<float>::infinity();
  for (float p : {2.0f, 1.0f, 3.0f, kInf}) {
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<Shape> shapes{{random_int(1, 9)}, {random_int(1, 6), random_int(1, 11)}};
      if (trial == 0) shapes.push_back({50001});
      std::vector<Var> params = params_with_grads(shapes, 2.0f);
      std::vector<std::vector<float>> before;
      for (const Var& v : params) before.push_back(v.grad().to_vector());
      const double want = reference_norm(before, p);
      // Half the trials clip (max_norm below the norm), half do not.
      const float max_norm = float(trial % 2 ? want * 0.3 : want * 1.5);
      const float got = clip_grad_norm(params, max_norm, p);
      EXPECT_NEAR(got, want, 2e-6 * want) << "p " << p << " trial " << trial;
      const double scale = std::min(1.0, double(max_norm) / (want + 1e-6));
      for (size_t i = 0; i < params.size(); ++i) {
        std::vector<double> expect;
        for (float x : before[i]) expect.push_back(double(x) * scale);
        ASSERT_TRUE(testing::all_close(params[i].grad().to_vector(), expect, 1e-5, 1e-7)) << "p " << p;
      }
      if (trial % 2) {
        std::vector<std::vector<float>> after;
        for (const Var& v : params) after.push_back(v.grad().to_vector());
        EXPECT_NEAR(reference_norm(after, p), max_norm, 1e-5 * max_norm);
      }
    }
  }
}

TEST(ClipGradNorm, SkipsParametersWithoutGradient) {
  std::vector<Var> params = params_with_grads({{3}, {4}}, 1.0f);
  params.emplace_back(Tensor::full({2}, 100.0f), true);  // no gradient
  params[0].node()->grad = Tensor::from_vector({3}, {3, 0, 0});
  params[1].node()->grad = Tensor::from_vector({4}, {0, 4, 0, 0});
  EXPECT_FLOAT_EQ(clip_grad_norm(params, 10.0f), 5.0f);
  EXPECT_FALSE(params[2].grad().defined());
  EXPECT_EQ(params[0].grad().to_vector(), (std::vector<float>{3, 0, 0}));  // below max_norm: untouched
  EXPECT_FLOAT_EQ(clip_grad_norm(params, 1.0f), 5.0f);
  EXPECT_NEAR(params[0].grad().to_vector()[0], 3.0f / (5.0f + 1e-6f), 1e-7);
  EXPECT_EQ(clip_grad_norm({params[2]}, 1.0f), 0.0f);
}

TEST(ClipGradNorm, NonFiniteNormThrowsUnlessAllowed) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    for (float p : {2.0f, std::numeric_limits<float>::infinity()}) {
      std::vector<Var> params = params_with_grads({{40}, {40000}}, 1.0f);
      params[1].node()->grad.data()[39999] = bad;
      params[1].node()->grad.data()[123] = 1.0f;
      EXPECT_TRUE(throws_with([&] { clip_grad_norm(params, 1.0f, p); }, {"clip_grad_norm", "allow_nonfinite"}));
      const std::vector<float> before = params[0].grad().to_vector();
      const float norm = clip_grad_norm(params, 1.0f, p, /*allow_nonfinite=*/true);
      EXPECT_EQ(std::isnan(norm), std::isnan(bad)) << norm;
      EXPECT_FALSE(std::isfinite(norm));
      EXPECT_EQ(params[0].grad().to_vector(), before);  // left for the caller to skip the step
    }
  }
}

TEST(ClipGradNorm, RejectsBadArguments) {
  std::vector<Var> params = params_with_grads({{3}}, 1.0f);
  EXPECT_TRUE(throws_with([&] { clip_grad_norm(params, 0.0f); }, {"clip_grad_norm: max_norm 0"}));
  EXPECT_TRUE(throws_with([&] { clip_grad_norm(params, NAN); }, {"max_norm nan"}));
  EXPECT_TRUE(throws_with([&] { clip_grad_norm(params, 1.0f, 0.0f); }, {"norm_type 0"}));
  EXPECT_TRUE(throws_with([&] { clip_grad_norm(params, 1.0f, -2.0f); }, {"norm_type -2"}));
}

}  // namespace
}  // namespace attn::optim
