// Every autograd op's backward against finite differences (the kernels' own tests check them in double).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/attention.h"
#include "attn/autograd/ops/dropout.h"
#include "attn/autograd/ops/embedding.h"
#include "attn/autograd/ops/layer_norm.h"
#include "attn/autograd/ops/loss.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/pointer_generator.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/autograd/ops/shape.h"
#include "attn/autograd/ops/softmax.h"
#include "attn/core/debug.h"
#include "attn/core/error.h"
#include "autograd/gradcheck.h"

namespace attn::autograd {
namespace {

using testing::gradcheck;
using testing::random_floats;
using testing::random_int;
using V = std::vector<Var>;

TEST(AutogradOps, BroadcastingArithmetic) {
  EXPECT_TRUE(gradcheck([](const V& x) { return x[0] + x[1]; }, {{3, 5}, {5}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return x[0] - x[1]; }, {{3, 1}, {1, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return x[0] * x[1]; }, {{2, 3, 17}, {3, 1}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return x[0] / add_scalar(x[1], 3.0f); }, {{4, 7}, {4, 7}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return scale(x[0], -2.5f); }, {{17}}));
}

// Backwards that hand their gradient on instead of copying it (same-shape add, reshape, contiguous) and slices
// that add into their input's gradient in place, including several slices of one tensor and strided regions.
TEST(AutogradOps, GradientsHandedOnAndAddedInPlace) {
  EXPECT_TRUE(gradcheck([](const V& x) { return x[0] + x[1]; }, {{4, 7}, {4, 7}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return x[0] + x[0]; }, {{5, 3}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return reshape(x[0] + x[1], {7, 4}) * reshape(x[0], {7, 4}); },
                        {{4, 7}, {4, 7}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return contiguous(transpose(x[0], 0, 1)) + x[1]; }, {{3, 5}, {5, 3}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return slice(x[0], 0, 0, 2) * slice(x[0], 0, 1, 3); }, {{3, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return slice(x[0], 1, 0, 3) * slice(x[0], 1, 2, 5) + slice(x[0], 1, 1, 4); },
                        {{2, 6}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return slice(x[0] * x[0], 0, 1, 2) + slice(x[0], 0, 0, 1); }, {{2, 3}}));
}

TEST(AutogradOps, MatmulLinear) {
  EXPECT_TRUE(gradcheck([](const V& x) { return matmul(x[0], x[1]); }, {{3, 5}, {5, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return matmul(x[0], x[1]); }, {{2, 3, 5}, {5, 1}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return matmul(x[0], x[1]); }, {{3, 2, 5}, {3, 5, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return linear(x[0], x[1], x[2]); }, {{2, 3, 7}, {5, 7}, {5}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return linear(x[0], x[1]); }, {{1, 17}, {3, 17}}));
}

// Without gradients, linear over few rows multiplies by a packed copy of the weight kept with it. The copy must
// follow every change of the weight: an in-place write, a new tensor, an optimizer-style update.
TEST(AutogradOps, LinearInferenceFollowsWeightChanges) {
  auto random = [](const Shape& s) { return Tensor::from_vector(s, testing::random_floats(shape_numel(s))); };
  Var x(random({2, 5, 33})), w(random({40, 33}), true), b(random({40}));
  auto expect_matches_grad_mode = [&](const char* when) {
    const std::vector<float> want = linear(x, w, b).value().to_vector();
    std::vector<float> got;
    {
      NoGradGuard no_grad;
      got = linear(x, w, b).value().to_vector();
    }
    EXPECT_TRUE(testing::all_close(got, std::vector<double>(want.begin(), want.end()), 1e-6, 1e-6)) << when;
  };
  expect_matches_grad_mode("first call");
  expect_matches_grad_mode("packed copy reused");
  w.value().data()[7] += 3.0f;
  expect_matches_grad_mode("after an in-place write");
  w.value() = random({40, 33});
  expect_matches_grad_mode("after a new tensor");
  w.value().slice(0, 3, 9).fill(0.5f);
  expect_matches_grad_mode("after a write through a view");
}

// linear_fused computes relu(x W^T + b) + residual: in grad mode as separate ops (with their gradients), in
// inference in the packed product's epilogue; both must give the same values.
TEST(AutogradOps, LinearFusedMatchesTheSeparateOps) {
  auto random = [](const Shape& s) { return Tensor::from_vector(s, testing::random_floats(shape_numel(s))); };
  Var x(random({3, 7, 20})), w(random({37, 20}), true), b(random({37}), true), r(random({3, 7, 37}), true);
  for (bool relu_on : {false, true})
    for (bool with_residual : {false, true}) {
      const LinearFusion fusion{relu_on, with_residual ? r : Var()};
      Var separate = linear(x, w, b);
      if (relu_on) separate = relu(separate);
      if (with_residual) separate = separate + r;
      const std::vector<float> want = separate.value().to_vector();
      EXPECT_EQ(linear_fused(x, w, b, fusion).value().to_vector(), want);  // grad mode: the same ops
      std::vector<float> got;
      {
        NoGradGuard no_grad;
        got = linear_fused(x, w, b, fusion).value().to_vector();
      }
      EXPECT_TRUE(testing::all_close(got, std::vector<double>(want.begin(), want.end()), 1e-6, 1e-6))
          << "relu=" << relu_on << " residual=" << with_residual;
    }
  EXPECT_TRUE(gradcheck([](const V& v) { return linear_fused(v[0], v[1], v[2], {false, v[3]}); },
                        {{2, 3, 4}, {5, 4}, {5}, {2, 3, 5}}));
  NoGradGuard no_grad;
  try {
    linear_fused(x, w, b, {false, Var(random({3, 7, 36}))});
    FAIL() << "no error for a residual of the wrong shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[3, 7, 36]"), std::string::npos) << e.what();
  }
}

TEST(AutogradOps, Reductions) {
  EXPECT_TRUE(gradcheck([](const V& x) { return sum(x[0]); }, {{3, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return mean(x[0]); }, {{17}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return sum(x[0], 1); }, {{2, 3, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return mean(x[0], -1); }, {{5, 3}}));
}

// Max pooling over the valid steps against a double reference; the gradient by finite differences on inputs
// whose winners are kept apart (each feature's steps get distinct offsets three apart, wider than the noise).
TEST(AutogradOps, MaxOverSteps) {
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t batch = random_int(1, 4), steps = random_int(1, 9), width = random_int(1, 19);
    std::vector<int32_t> lengths(static_cast<size_t>(batch));
    for (auto& l : lengths) l = int32_t(random_int(0, steps));
    lengths[0] = int32_t(steps);
    const Tensor x = Tensor::from_vector({batch, steps, width}, random_floats(batch * steps * width, -1e4f, 1e4f));
    const std::vector<float> got = max_over_steps(Var(x), lengths).value().to_vector();
    const std::vector<float> xs = x.to_vector();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t j = 0; j < width; ++j) {
        double want = lengths[size_t(b)] == 0 ? 0.0 : -1e300;
        for (int64_t t = 0; t < lengths[size_t(b)]; ++t) want = std::max(want, double(xs[size_t((b * steps + t) * width + j)]));
        ASSERT_EQ(double(got[size_t(b * width + j)]), want) << "b " << b << " feature " << j;
      }
    std::vector<float> offsets(size_t(batch * steps * width));
    std::vector<int64_t> order(static_cast<size_t>(steps));
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t j = 0; j < width; ++j) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), testing::rng());
        for (int64_t t = 0; t < steps; ++t) offsets[size_t((b * steps + t) * width + j)] = 3.0f * float(order[size_t(t)]);
      }
    const Var shift(Tensor::from_vector({batch, steps, width}, offsets));
    EXPECT_TRUE(gradcheck([&](const V& v) { return max_over_steps(v[0] + shift, lengths); }, {{batch, steps, width}}));
  }
  EXPECT_TRUE(gradcheck([](const V& v) { return max_over_steps(v[0]); }, {{1, 1, 5}}));
  const std::vector<int32_t> too_long = {4};
  try {
    max_over_steps(Var(Tensor::zeros({1, 3, 2})), too_long);
    FAIL() << "no error for a length past the steps";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 3, 2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(max_over_steps(Var(Tensor::zeros({3, 2}))), Error);
}

TEST(AutogradOps, Activations) {
  EXPECT_TRUE(gradcheck([](const V& x) { return tanh(x[0]); }, {{4, 9}}, 1e-2, 2e-2, 2e-3, -3.0f, 3.0f));
  EXPECT_TRUE(gradcheck([](const V& x) { return sigmoid(x[0]); }, {{4, 9}}, 1e-2, 2e-2, 2e-3, -3.0f, 3.0f));
  EXPECT_TRUE(gradcheck([](const V& x) { return relu(x[0]); }, {{4, 9}}, 1e-3, 2e-2, 2e-3, 0.1f, 1.0f));
  EXPECT_TRUE(gradcheck([](const V& x) { return relu(x[0]); }, {{4, 9}}, 1e-3, 2e-2, 2e-3, -1.0f, -0.1f));
  EXPECT_TRUE(gradcheck([](const V& x) { return gelu(x[0]); }, {{4, 9}}, 1e-2, 2e-2, 2e-3, -3.0f, 3.0f));
  EXPECT_TRUE(gradcheck([](const V& x) { return gelu(x[0], kernels::GeluApprox::kTanh); }, {{3, 5}}));
}

TEST(AutogradOps, PointerGeneratorLogProbs) {
  const std::vector<int32_t> ids = {0, 4, 4, 2, 1, 1};  // 3 rows x 2 sources, repeated tokens
  EXPECT_TRUE(gradcheck(
      [&](const V& x) { return pointer_generator_log_probs(x[0], sigmoid(x[1]), softmax(x[2], -1), ids); },
      {{3, 5}, {3, 1}, {3, 2}}));
  EXPECT_TRUE(gradcheck(
      [&](const V& x) { return pointer_generator_log_probs(x[0], sigmoid(x[1]), softmax(x[2], -1), ids); },
      {{3, 5}, {3}, {3, 2}}));
}

TEST(AutogradOps, SoftmaxOverAnyAxis) {
  for (int64_t axis : {0, 1, -1}) {
    EXPECT_TRUE(gradcheck([axis](const V& x) { return softmax(x[0], axis); }, {{3, 4, 5}})) << axis;
    EXPECT_TRUE(gradcheck([axis](const V& x) { return log_softmax(x[0], axis); }, {{3, 4, 5}})) << axis;
  }
}

TEST(AutogradOps, CrossEntropyWithIgnoreIndexAndSmoothing) {
  std::vector<int32_t> targets{2, -100, 0, 4, 1};
  for (float eps : {0.0f, 0.1f}) {
    kernels::CrossEntropyOptions o;
    o.label_smoothing = eps;
    EXPECT_TRUE(gradcheck([&](const V& x) { return cross_entropy(x[0], targets, o); }, {{5, 6}})) << eps;
  }
}

TEST(AutogradOps, LayerNorm) {
  EXPECT_TRUE(gradcheck([](const V& x) { return layer_norm(x[0], x[1], x[2]); }, {{3, 2, 9}, {9}, {9}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return layer_norm(x[0], Var(), Var()); }, {{4, 17}}));
}

// A lookup only reads the table: its content key (what packed copies of a tied output weight are checked
// against) stays put.
TEST(AutogradOps, EmbeddingLookupIsNotAWrite) {
  Var table(Tensor::from_vector({5, 3}, testing::random_floats(15)), true);
  const Tensor::ContentKey before = table.value().content_key();
  const std::vector<int32_t> ids{4, 0, 2};
  embedding(table, ids, {3});
  {
    NoGradGuard no_grad;
    embedding(table, ids, {3});
  }
  EXPECT_TRUE(table.value().content_key() == before);
}

TEST(AutogradOps, EmbeddingScatterAddsRepeatedIds) {
  std::vector<int32_t> ids{1, 3, 1, 0, 3, 3};
  EXPECT_TRUE(gradcheck([&](const V& x) { return embedding(x[0], ids, {2, 3}); }, {{5, 4}}));
  Var table(Tensor::from_vector({3, 2}, {1, 2, 3, 4, 5, 6}), true);
  std::vector<int32_t> with_pad{0, 2, 0};
  Var out = embedding(table, with_pad, {3}, /*padding_idx=*/0);
  out.backward(Tensor::full(out.shape(), 1.0f));
  EXPECT_EQ(table.grad().to_vector(), (std::vector<float>{0, 0, 0, 0, 1, 1}));
}

TEST(AutogradOps, DropoutUsesOneMaskForwardAndBackward) {
  // Each evaluation draws from a fresh generator with the same seed, so every call sees the same mask.
  EXPECT_TRUE(gradcheck([](const V& x) {
    Rng rng(7);
    return dropout(x[0], 0.3f, rng);
  }, {{6, 11}}));
}

TEST(AutogradOps, ViewsAndAttention) {
  EXPECT_TRUE(gradcheck([](const V& x) { return contiguous(transpose(x[0], 0, 2)); }, {{2, 3, 4}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return reshape(permute(x[0], {1, 2, 0}), {4, -1}); }, {{2, 3, 4}}));
  std::vector<int32_t> lengths{5, 2};
  for (bool causal : {false, true}) {
    AttentionOptions o{lengths, causal, 0.0f};
    EXPECT_TRUE(gradcheck([&](const V& x) { return scaled_dot_product_attention(x[0], x[1], x[2], o); },
                          {{2, 2, 5, 3}, {2, 2, 5, 3}, {2, 2, 5, 3}}))
        << causal;
  }
}

// q, k, v [B, H, L, D] from a packed [B, L, 3 E]: the head split that self_attention_packed does without.
V split_packed(const Var& qkv, int64_t heads) {
  const int64_t b = qkv.size(0), l = qkv.size(1), e = qkv.size(2) / 3;
  Var x = contiguous(permute(reshape(qkv, {b, l, 3, heads, e / heads}), {2, 0, 3, 1, 4}));
  V parts;
  for (int64_t part = 0; part < 3; ++part) {
    parts.push_back(reshape(slice(x, 0, part, part + 1), {b, heads, l, e / heads}));
  }
  return parts;
}

Var random_var(const Shape& shape) { return Var(Tensor::from_vector(shape, random_floats(shape_numel(shape))), true); }

::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  const std::vector<float> w = want.to_vector();
  return testing::all_close(got.to_vector(), std::vector<double>(w.begin(), w.end()), rtol, atol);
}

TEST(AutogradOps, SelfAttentionPackedMatchesSplitHeads) {
  std::vector<int32_t> lengths{5, 3};
  for (bool causal : {false, true})
    for (float p : {0.0f, 0.3f}) {
      const AttentionOptions o{causal ? std::span<const int32_t>() : lengths, causal, 0.0f, {p, 5, 9}};
      EXPECT_TRUE(gradcheck([&](const V& x) { return self_attention_packed(x[0], 2, o); }, {{2, 5, 12}}))
          << "causal=" << causal << " p=" << p;
      // Against the split heads through scaled_dot_product_attention: values and gradients.
      Var a = random_var({2, 5, 3 * 3 * 7}), b(a.value().clone(), true);  // 3 heads of 7
      Var packed = self_attention_packed(a, 3, o);
      V qkv = split_packed(b, 3);
      Var split = reshape(permute(scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], o), {0, 2, 1, 3}), {2, 5, 21});
      EXPECT_TRUE(close(packed.value(), split.value(), 1e-6, 1e-6));
      Tensor w = Tensor::from_vector(packed.shape(), random_floats(packed.numel()));
      packed.backward(w);
      split.backward(w);
      EXPECT_TRUE(close(a.grad(), b.grad(), 1e-5, 1e-6))
          << "causal=" << causal << " p=" << p;
    }
  Var bad = random_var({2, 5, 10});
  testing::expect_error([&] { self_attention_packed(bad, 2); }, {"self_attention_packed", "[2, 5, 10]"});
}

// The kernels' dropout drops the weights autograd::dropout drops on the explicit softmax(scale q k^T + mask) with
// the same draws: values and gradients agree.
TEST(AutogradOps, AttentionDropoutIsTheExplicitSoftmaxDropout) {
  const int64_t B = 2, H = 2, L = 9, D = 5;
  std::vector<int32_t> lengths{9, 4};
  for (bool causal : {false, true}) {
    const kernels::DropoutDraws draws{0.3f, 17, 40};
    const AttentionOptions o{causal ? std::span<const int32_t>() : lengths, causal, 0.0f, draws};
    Var q = random_var({B, H, L, D}), k = random_var({B, H, L, D}), v = random_var({B, H, L, D});
    Var fused = scaled_dot_product_attention(q, k, v, o);
    Var q2(q.value().clone(), true), k2(k.value().clone(), true), v2(v.value().clone(), true);
    Tensor mask = Tensor::zeros({B * H, L, L});
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t i = 0; i < L; ++i)
        for (int64_t j = 0; j < L; ++j)
          if (causal ? j > i : j >= lengths[size_t(bh / H)]) mask.at({bh, i, j}) = -INFINITY;
    Var kt = contiguous(transpose(reshape(k2, {B * H, L, D}), 1, 2));
    Var scores = add(scale(matmul(reshape(q2, {B * H, L, D}), kt), 1.0f / std::sqrt(float(D))), Var(mask));
    Rng rng(draws.seed);
    rng.set_counter(draws.offset);
    Var explicit_out = reshape(matmul(dropout(softmax(scores, -1), draws.p, rng), reshape(v2, {B * H, L, D})),
                               {B, H, L, D});
    EXPECT_TRUE(close(fused.value(), explicit_out.value(), 1e-5, 1e-6));
    Tensor w = Tensor::from_vector(fused.shape(), random_floats(fused.numel()));
    fused.backward(w);
    explicit_out.backward(w);
    for (auto [x, y] : {std::pair{q, q2}, std::pair{k, k2}, std::pair{v, v2}}) {
      EXPECT_TRUE(close(x.grad(), y.grad(), 1e-4, 1e-5)) << causal;
    }
  }
}

TEST(AutogradOps, ReluDropoutIsDropoutOfRelu) {
  EXPECT_TRUE(gradcheck([](const V& x) {
    Rng rng(7);
    return relu_dropout(x[0], 0.3f, rng);
  }, {{6, 11}}));
  Var a = random_var({5, 13}), b(a.value().clone(), true);
  Rng ra(4), rb(4);
  Var fused = relu_dropout(a, 0.4f, ra), chain = dropout(relu(b), 0.4f, rb);
  EXPECT_EQ(fused.value().to_vector(), chain.value().to_vector());
  EXPECT_EQ(ra.counter(), rb.counter());
  Tensor w = random_var(fused.shape()).value();
  fused.backward(w);
  chain.backward(w);
  EXPECT_EQ(a.grad().to_vector(), b.grad().to_vector());
  EXPECT_EQ(relu_dropout(a, 0.4f, ra, /*training=*/false).value().to_vector(), relu(a).value().to_vector());
}

TEST(AutogradOps, SliceAndConcat) {
  EXPECT_TRUE(gradcheck([](const V& x) { return slice(x[0], 1, 1, 3); }, {{2, 4, 3}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return slice(x[0], -1, -2, 5); }, {{3, 5}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return concat({x[0], x[1], x[0]}, 1); }, {{2, 1, 3}, {2, 4, 3}}));
  EXPECT_TRUE(gradcheck([](const V& x) { return concat({x[0], x[1]}, -1); }, {{2, 3}, {2, 5}}));
  Var a(Tensor::zeros({2, 3})), b(Tensor::zeros({3, 3}));
  EXPECT_THROW(concat({a, b}, 1), Error);
  EXPECT_THROW(slice(a, 1, 3, 3), Error);
}

TEST(AutogradOps, SmallNetworkEndToEnd) {
  // embedding -> linear -> tanh -> self-attention -> mean over time -> linear -> cross-entropy
  std::vector<int32_t> ids{1, 4, 2, 0, 3, 3};
  std::vector<int32_t> targets{1, 0};
  EXPECT_TRUE(gradcheck(
      [&](const V& p) {
        Var e = embedding(p[0], ids, {2, 3});               // [2, 3, 4]
        Var hdn = tanh(linear(e, p[1], p[2]));              // [2, 3, 4]
        Var q = reshape(hdn, {2, 1, 3, 4});                 // one head
        Var a = scaled_dot_product_attention(q, q, q, {});  // [2, 1, 3, 4]
        Var pooled = mean(reshape(a, {2, 3, 4}), 1);        // [2, 4]
        return cross_entropy(linear(pooled, p[3], p[4]), targets);
      },
      {{5, 4}, {4, 4}, {4}, {3, 4}, {3}}));
}

TEST(AutogradOps, ShapeErrorsNameTheOpAndShapes) {
  Var a(Tensor::zeros({2, 3})), b(Tensor::zeros({4, 5}));
  try {
    matmul(a, b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul: cannot multiply [2, 3] by [4, 5]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(add(a, b), Error);
  EXPECT_THROW(linear(a, b), Error);
  EXPECT_THROW(softmax(a, 2), Error);
  EXPECT_THROW(sum(Var(Tensor::zeros({0, 3}))), Error);
  std::vector<int32_t> t{0};
  EXPECT_THROW(cross_entropy(a, t), Error);
  Var q(Tensor::zeros({1, 1, 2, 4})), k(Tensor::zeros({1, 1, 3, 5}));
  EXPECT_THROW(scaled_dot_product_attention(q, k, k), Error);
}

}  // namespace
}  // namespace attn::autograd

namespace attn::autograd {
namespace {

TEST(AutogradOps, DebugChecksNameTheOpThatProducedANaN) {
  set_debug_checks(true);
  Var x(Tensor::from_vector({2, 2}, {1.0f, std::nanf(""), 0.0f, 2.0f}), true);
  try {
    tanh(x);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tanh: output of shape [2, 2]"), std::string::npos) << e.what();
  }
  Var fine(Tensor::from_vector({2}, {1.0f, 2.0f}), true);
  EXPECT_NO_THROW(sum(tanh(fine)).backward());
  set_debug_checks(false);
  EXPECT_NO_THROW(tanh(x));  // off: NaN flows through silently, as in any framework
}

}  // namespace
}  // namespace attn::autograd
