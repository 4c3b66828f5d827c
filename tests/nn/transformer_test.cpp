#include <gtest/gtest.h>

#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/transformer/decoder_layer.h"
#include "attn/nn/transformer/encoder_layer.h"
#include "autograd/gradcheck.h"

namespace attn::nn {
namespace {

using testing::all_close;
using testing::gradcheck;
using V = std::vector<Var>;

TransformerLayerOptions tiny(bool norm_first, float dropout = 0.0f) {
  TransformerLayerOptions o;
  o.d_model = 6;
  o.num_heads = 2;
  o.dim_feedforward = 10;
  o.dropout = dropout;
  o.norm_first = norm_first;
  o.activation = Activation::kGelu;  // smooth, so finite differences never straddle relu's kink
  return o;
}

Var random_var(const Shape& s) { return Var(Tensor::from_vector(s, testing::random_floats(shape_numel(s)))); }

std::vector<double> to_double(const Tensor& t) {
  auto v = t.to_vector();
  return {v.begin(), v.end()};
}

TEST(MultiheadAttention, GradientsBySelfAndCrossAttentionWithMasks) {
  Rng rng(5);
  MultiheadAttention mha(6, 3, rng);
  std::vector<int32_t> lengths{4, 2};
  EXPECT_TRUE(gradcheck([&](const V& x) { return mha.forward(x[0], x[0], x[0], {lengths, true}); }, {{2, 4, 6}}));
  EXPECT_TRUE(gradcheck([&](const V& x) { return mha.forward(x[0], x[1], x[1], {lengths, false}); },
                        {{2, 3, 6}, {2, 4, 6}}));
  // and the gradient reaches every parameter
  for (auto& [name, p] : mha.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
}

TEST(MultiheadAttention, WeightsAreTheHeadMeanAndRespectPadding) {
  Rng rng(6);
  MultiheadAttention mha(8, 2, rng);
  std::vector<int32_t> lengths{5, 3};
  Tensor mean, per_head;
  Var x = random_var({2, 5, 8});
  mha.forward(x, x, x, {lengths, false}, &mean);
  mha.forward(x, x, x, {lengths, false}, &per_head, /*per_head=*/true);
  ASSERT_EQ(mean.shape(), (Shape{2, 5, 5}));
  ASSERT_EQ(per_head.shape(), (Shape{2, 2, 5, 5}));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      EXPECT_NEAR(mean.at({1, i, j}), 0.5f * (per_head.at({1, 0, i, j}) + per_head.at({1, 1, i, j})), 1e-6);
      if (j >= 3) {
        EXPECT_EQ(mean.at({1, i, j}), 0.0f);
      }
    }
}

TEST(MultiheadAttention, IncrementalDecodingMatchesTheFullCausalPass) {
  Rng rng(7);
  MultiheadAttention mha(8, 2, rng);
  Var x = random_var({2, 7, 8});
  autograd::NoGradGuard no_grad;
  Var full = mha.forward(x, x, x, {{}, true});
  KVCache cache;
  std::vector<float> steps;
  for (int64_t t = 0; t < 7; t += (t == 0 ? 3 : 1)) {  // a 3-token prompt, then one token at a time
    int64_t n = t == 0 ? 3 : 1;
    Var y = mha.forward_incremental(autograd::slice(x, 1, t, t + n), cache);
    EXPECT_EQ(cache.length(), t + n);
    Var expect = autograd::slice(full, 1, t, t + n);
    EXPECT_TRUE(all_close(y.value().to_vector(), to_double(expect.value().contiguous()), 1e-5, 1e-6)) << t;
  }
}

// Without gradients the in_proj row slices are kept between calls (so each keeps its packed copy); they must
// follow in-place writes to in_proj_weight and new in_proj tensors (a load).
TEST(MultiheadAttention, InferenceFollowsInProjChanges) {
  Rng rng(8);
  MultiheadAttention mha(8, 2, rng);
  Var x = random_var({1, 4, 8}), memory = random_var({1, 5, 8});
  auto expect_matches_grad_mode = [&](const char* when) {
    const std::vector<float> want = mha.forward(x, memory, memory).value().to_vector();
    autograd::NoGradGuard no_grad;
    KVCache cache;
    EXPECT_TRUE(all_close(mha.forward_cross_cached(x, memory, cache, {}).value().to_vector(),
                          std::vector<double>(want.begin(), want.end()), 1e-5, 1e-6))
        << when;
  };
  expect_matches_grad_mode("first call");
  expect_matches_grad_mode("slices reused");
  mha.in_proj_weight.value().data()[8 * 8 + 3] += 2.0f;  // a key row
  expect_matches_grad_mode("after an in-place write");
  mha.in_proj_bias.value() = random_var({24}).value();
  expect_matches_grad_mode("after a new bias tensor");
  mha.in_proj_weight.value() = random_var({24, 8}).value();
  expect_matches_grad_mode("after a new weight tensor");
}

TEST(MultiheadAttention, AttentionDropoutIsUnbiased) {
  // Inverted dropout on the weights leaves the expected output unchanged: the mean over many training-mode
  // passes (dropout inside the kernels) approaches the evaluation-mode output.
  Rng rng(8);
  MultiheadAttention mha(4, 2, rng, /*dropout=*/0.3f);
  Var x = random_var({1, 3, 4});
  std::vector<int32_t> lengths{2};
  mha.eval();
  std::vector<float> eval = mha.forward(x, x, x, {lengths, false}).value().to_vector();
  mha.train();
  std::vector<double> mean(eval.size(), 0.0);
  const int kRuns = 4000;
  bool differs = false;
  for (int r = 0; r < kRuns; ++r) {
    auto y = mha.forward(x, x, x, {lengths, false}).value().to_vector();
    for (size_t i = 0; i < y.size(); ++i) {
      mean[i] += y[i] / kRuns;
      differs |= std::fabs(y[i] - eval[i]) > 1e-4f;
    }
  }
  EXPECT_TRUE(differs);
  EXPECT_TRUE(all_close(eval, mean, 0.0, 0.03));
}

TEST(MultiheadAttention, TrainingSelfAttentionMatchesTheSplitHeadsPath) {
  // In training, self-attention runs from the packed q/k/v projection; the same input as three distinct nodes
  // takes the split-heads path. Equal seeds give equal dropout draws, so outputs and gradients must agree.
  Rng rng_a(3), rng_b(3);
  MultiheadAttention a(12, 3, rng_a, /*dropout=*/0.3f), b(12, 3, rng_b, /*dropout=*/0.3f);
  const Tensor x = random_var({2, 5, 12}).value();
  std::vector<int32_t> lengths{5, 2};
  Var xa(x.clone(), true), xq(x.clone(), true), xk(x.clone(), true), xv(x.clone(), true);
  for (int step = 0; step < 2; ++step) {  // the second step draws fresh masks, alike in both
    Var packed = a.forward(xa, xa, xa, {lengths, false}), split = b.forward(xq, xk, xv, {lengths, false});
    const std::vector<float> want = split.value().to_vector();
    EXPECT_TRUE(all_close(packed.value().to_vector(), std::vector<double>(want.begin(), want.end()), 1e-5, 1e-6))
        << step;
    Tensor w = random_var(packed.shape()).value();
    packed.backward(w);
    split.backward(w);
  }
  const std::vector<float> wg = b.in_proj_weight.grad().to_vector();
  EXPECT_TRUE(all_close(a.in_proj_weight.grad().to_vector(), std::vector<double>(wg.begin(), wg.end()), 1e-4, 1e-5));
  std::vector<double> dx(size_t(x.numel()));
  for (const Var* part : {&xq, &xk, &xv}) {
    const std::vector<float> g = part->grad().to_vector();
    for (size_t i = 0; i < dx.size(); ++i) dx[i] += g[i];
  }
  EXPECT_TRUE(all_close(xa.grad().to_vector(), dx, 1e-4, 1e-5));
}

TEST(MultiheadAttention, BadShapesNameTheModule) {
  Rng rng(9);
  EXPECT_THROW(MultiheadAttention(10, 3, rng), Error);
  MultiheadAttention mha(6, 2, rng);
  try {
    Var x = random_var({2, 4, 5});
    mha.forward(x, x, x);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MultiheadAttention(embed_dim 6, heads 2)"), std::string::npos) << e.what();
  }
  Var q = random_var({2, 4, 6}), k = random_var({3, 4, 6});
  EXPECT_THROW(mha.forward(q, k, k), Error);
  std::vector<int32_t> lengths{4};
  EXPECT_THROW(mha.forward(q, q, q, {lengths, false}), Error);
}

TEST(TransformerEncoderLayer, GradientsPostAndPreLn) {
  for (bool norm_first : {false, true}) {
    Rng rng(10);
    TransformerEncoderLayer layer(tiny(norm_first), rng);
    std::vector<int32_t> lengths{3, 2};
    EXPECT_TRUE(gradcheck([&](const V& x) { return layer.forward(x[0], {lengths, false}); }, {{2, 3, 6}}))
        << norm_first;
  }
}

TEST(TransformerEncoderLayer, PaddingDoesNotLeakIntoValidPositions) {
  Rng rng(11);
  TransformerEncoderLayer layer(tiny(false), rng);
  autograd::NoGradGuard no_grad;
  Var a = random_var({1, 3, 6});
  Var padded = random_var({1, 5, 6});
  padded.value().slice(1, 0, 3).copy_from(a.value());
  std::vector<int32_t> three{3};
  Var alone = layer.forward(a);
  Var with_padding = layer.forward(padded, {three, false});
  EXPECT_TRUE(all_close(with_padding.value().slice(1, 0, 3).contiguous().to_vector(), to_double(alone.value()), 1e-5,
                        1e-6));
}

TEST(TransformerDecoderLayer, GradientsAndIncrementalDecoding) {
  Rng rng(12);
  TransformerDecoderLayer layer(tiny(true), rng);
  std::vector<int32_t> tgt_lengths{4, 3}, mem_lengths{2, 5};
  EXPECT_TRUE(gradcheck([&](const V& x) { return layer.forward(x[0], x[1], {tgt_lengths, true}, mem_lengths); },
                        {{2, 4, 6}, {2, 5, 6}}));
  autograd::NoGradGuard no_grad;
  Var tgt = random_var({2, 4, 6}), memory = random_var({2, 5, 6});
  Tensor full_weights;
  Var full = layer.forward(tgt, memory, {{}, true}, mem_lengths, &full_weights);
  DecoderCache cache;
  for (int64_t t = 0; t < 4; ++t) {
    Tensor w;
    Var y = layer.forward_incremental(autograd::slice(tgt, 1, t, t + 1), memory, cache, mem_lengths, &w);
    EXPECT_TRUE(all_close(y.value().to_vector(),
                          to_double(autograd::slice(full, 1, t, t + 1).value().contiguous()), 1e-5, 1e-6))
        << t;
    EXPECT_TRUE(all_close(w.to_vector(), to_double(full_weights.slice(1, t, t + 1).contiguous()), 1e-5, 1e-6));
  }
}

}  // namespace
}  // namespace attn::nn
