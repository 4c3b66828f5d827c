// Position encodings: the sinusoidal table against its formula in double, learned embeddings, rotary embeddings
// (norms kept, q.k depending only on the distance, offsets for decoding) and Shaw et al.'s relative
// self-attention (against a double reference, K = 0 reducing to ordinary attention, gradients, padding).
#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/attention.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/positional_relative.h"
#include "attn/autograd/ops/positional_rotary.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/positional/learned.h"
#include "attn/nn/positional/relative.h"
#include "attn/nn/positional/rotary.h"
#include "attn/nn/positional/sinusoidal.h"
#include "autograd/gradcheck.h"
#include "nn/attention_test_util.h"

namespace attn::nn {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::Mat;
using testing::module_gradcheck;
using testing::random_floats;
using testing::random_int;

Var random_var(const Shape& s, bool requires_grad = false) {
  return Var(Tensor::from_vector(s, random_floats(shape_numel(s))), requires_grad);
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const auto& p : pieces) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// ---- sinusoidal ----------------------------------------------------------------------------------------------

TEST(SinusoidalPositionalEncoding, MatchesFormulaInDouble) {
  for (int64_t dim : {1, 6, 9}) {
    const int64_t max_len = 300;
    SinusoidalPositionalEncoding pe(dim, max_len);
    EXPECT_TRUE(pe.named_parameters().empty());
    std::vector<double> want;
    for (int64_t p = 0; p < max_len; ++p)
      for (int64_t c = 0; c < dim; ++c) {
        const double angle = double(p) / std::pow(10000.0, double(c - c % 2) / double(dim));
        want.push_back(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
      }
    EXPECT_TRUE(all_close(pe.table().to_vector(), want, 0, 1e-6));
  }
}

TEST(SinusoidalPositionalEncoding, AddsRowsFromTheOffset) {
  SinusoidalPositionalEncoding pe(5, 20);
  Var x = random_var({2, 4, 5});
  Tensor y = pe.forward(x, 7).value();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t c = 0; c < 5; ++c)
        EXPECT_FLOAT_EQ(y.at({b, t, c}), x.value().at({b, t, c}) + pe.table().at({7 + t, c}));
  EXPECT_TRUE(gradcheck([&](const std::vector<Var>& in) { return pe.forward(in[0], 3); }, {{2, 3, 5}}));
  expect_error(
      [&] {
        pe.forward(random_var({1, 4, 5}), 17);
      },
      {"SinusoidalPositionalEncoding(dim 5, max_len 20)", "[1, 4, 5]", "offset 17"});
  expect_error([&] { pe.forward(random_var({1, 4, 6})); }, {"SinusoidalPositionalEncoding", "[1, 4, 6]"});
}

// ---- learned ------------------------------------------------------------------------------------------------

TEST(LearnedPositionalEmbedding, AddsEmbeddingRowsAndLearnsThem) {
  Rng rng(1);
  LearnedPositionalEmbedding pe(10, 3, rng);
  ASSERT_EQ(pe.named_parameters().size(), 1u);
  EXPECT_EQ(pe.named_parameters()[0].first, "embedding.weight");
  Var x = random_var({2, 4, 3});
  Tensor y = pe.forward(x, 5).value();
  const Tensor& table = pe.embedding->weight.value();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(y.at({b, t, c}), x.value().at({b, t, c}) + table.at({5 + t, c}));
  EXPECT_TRUE(module_gradcheck(pe, [&](const std::vector<Var>& in) { return pe.forward(in[0], 2); }, {{2, 4, 3}}));
  expect_error(
      [&] {
        pe.forward(random_var({1, 4, 3}), 7);
      },
      {"LearnedPositionalEmbedding(max_len 10, dim 3)", "[7, 11)"});
  expect_error([&] { pe.forward(random_var({1, 4, 2})); }, {"LearnedPositionalEmbedding", "[1, 4, 2]"});
}

// ---- rotary ---------------------------------------------------------------------------------------------------

TEST(RotaryEmbedding, MatchesRotateHalfFormulaInDouble) {
  const int64_t batch = 2, heads = 3, len = 5, dim = 8, offset = 11;
  Var x = random_var({batch, heads, len, dim});
  Tensor y = autograd::rotary(x, offset, 500.0f).value();
  std::vector<double> want;
  const Tensor& xv = x.value();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < len; ++t)
        for (int64_t c = 0; c < dim; ++c) {
          const int64_t i = c % (dim / 2);
          const double angle = double(offset + t) * std::pow(500.0, -2.0 * double(i) / double(dim));
          const double x1 = xv.at({b, h, t, i}), x2 = xv.at({b, h, t, i + dim / 2});
          want.push_back(c < dim / 2 ? x1 * std::cos(angle) - x2 * std::sin(angle)
                                     : x2 * std::cos(angle) + x1 * std::sin(angle));
        }
  EXPECT_TRUE(all_close(y.to_vector(), want, 1e-5, 1e-6));
}

TEST(RotaryEmbedding, PreservesNormsAndDotProductsDependOnlyOnDistance) {
  RotaryEmbedding rope(16);
  const int64_t dim = 16;
  Var q = random_var({1, 1, 1, dim}), k = random_var({1, 1, 1, dim});
  auto rotated_dot = [&](int64_t m, int64_t n) {
    std::vector<float> a = rope.forward(q, m).value().to_vector(), b = rope.forward(k, n).value().to_vector();
    double acc = 0;
    for (int64_t c = 0; c < dim; ++c) acc += double(a[size_t(c)]) * b[size_t(c)];
    return acc;
  };
  for (int64_t distance : {0, 1, 5, -3}) {
    const double base = rotated_dot(10 + distance, 10);
    for (int64_t shift : {0, 1, 7, 100, 2000}) EXPECT_NEAR(rotated_dot(10 + distance + shift, 10 + shift), base, 2e-4);
  }
  // Different distances give different products (the encoding is not trivial).
  EXPECT_GT(std::fabs(rotated_dot(3, 0) - rotated_dot(0, 0)), 1e-3);
  Var x = random_var({2, 3, 7, dim});
  Tensor y = rope.forward(x, 4).value();
  for (int64_t r = 0; r < 2 * 3 * 7; ++r) {
    double nx = 0, ny = 0;
    for (int64_t c = 0; c < dim; ++c) {
      nx += double(x.value().data()[r * dim + c]) * x.value().data()[r * dim + c];
      ny += double(y.data()[r * dim + c]) * y.data()[r * dim + c];
    }
    EXPECT_NEAR(std::sqrt(ny), std::sqrt(nx), 1e-5);
  }
}

TEST(RotaryEmbedding, OffsetContinuesTheSequenceForDecoding) {
  RotaryEmbedding rope(6);
  Var x = random_var({2, 2, 9, 6});
  Tensor whole = rope.forward(x).value();
  Tensor tail = rope.forward(Var(x.value().slice(2, 4, 9).contiguous()), 4).value();
  EXPECT_TRUE(all_close(tail.to_vector(), testing::to_double(whole.slice(2, 4, 9)), 0, 0));
  auto [q, k] = rope.forward(x, x, 3);
  EXPECT_EQ(q.value().to_vector(), k.value().to_vector());
}

TEST(RotaryEmbedding, GradientByFiniteDifferencesAndErrors) {
  EXPECT_TRUE(gradcheck([](const std::vector<Var>& x) { return autograd::rotary(x[0], 3); }, {{2, 3, 4, 6}}));
  RotaryEmbedding rope(4);
  EXPECT_TRUE(gradcheck([&](const std::vector<Var>& x) { return rope.forward(x[0], 0); }, {{1, 2, 5, 4}}));
  expect_error([] { RotaryEmbedding odd(5); }, {"RotaryEmbedding", "head_dim 5"});
  expect_error([&] { rope.forward(random_var({1, 2, 5, 6})); }, {"RotaryEmbedding(head_dim 4)", "[1, 2, 5, 6]"});
  expect_error([] { autograd::rotary(random_var({2, 3, 5})); }, {"rotary", "[2, 3, 5]"});
}

// ---- relative positions --------------------------------------------------------------------------------------

TEST(RelativePositionOps, GatherAndScatterAreAdjointAndDifferentiable) {
  for (int64_t max_distance : {0, 1, 3}) {
    const int64_t lq = random_int(1, 6), lk = random_int(1, 7), q_offset = random_int(0, 2);
    const int64_t buckets = 2 * max_distance + 1;
    Var x = random_var({2, lq, buckets}), y = random_var({2, lq, lk});
    Tensor gx = autograd::relative_gather(x, lk, max_distance, q_offset).value();
    Tensor sy = autograd::relative_scatter(y, max_distance, q_offset).value();
    double lhs = 0, rhs = 0;  // <gather(x), y> == <x, scatter(y)>
    for (int64_t i = 0; i < gx.numel(); ++i) lhs += double(gx.data()[i]) * y.value().data()[i];
    for (int64_t i = 0; i < sy.numel(); ++i) rhs += double(sy.data()[i]) * x.value().data()[i];
    EXPECT_NEAR(lhs, rhs, 1e-4);
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t j = 0; j < lk; ++j) {
        const int64_t r = std::clamp(j - (i + q_offset), -max_distance, max_distance) + max_distance;
        EXPECT_EQ(gx.at({1, i, j}), x.value().at({1, i, r}));
      }
    EXPECT_TRUE(gradcheck(
        [&](const std::vector<Var>& in) { return autograd::relative_gather(in[0], lk, max_distance, q_offset); },
        {{2, lq, buckets}}));
    EXPECT_TRUE(
        gradcheck([&](const std::vector<Var>& in) { return autograd::relative_scatter(in[0], max_distance, q_offset); },
                  {{2, lq, lk}}));
  }
  expect_error([] { autograd::relative_gather(random_var({2, 3, 4}), 5, 2); }, {"relative_gather", "[2, 3, 4]"});
}

// Double reference for RelativeSelfAttention: out [B, L, E] and weights [B, H, L, L].
struct RelativeRef {
  Mat out, weights;
};
RelativeRef relative_ref(const RelativeSelfAttention& m, const Tensor& x, int64_t heads,
                         const std::vector<int32_t>& lengths, bool causal) {
  const int64_t batch = x.size(0), len = x.size(1), embed = x.size(2), dh = embed / heads, K = m.max_distance();
  const Mat xd = testing::to_double(x);
  const Mat q = testing::linear_ref(xd, batch * len, m.q_proj->weight.value(), m.q_proj->bias.value());
  const Mat k = testing::linear_ref(xd, batch * len, m.k_proj->weight.value(), m.k_proj->bias.value());
  const Mat v = testing::linear_ref(xd, batch * len, m.v_proj->weight.value(), m.v_proj->bias.value());
  const Mat rk = testing::to_double(m.relative_key.value()), rv = testing::to_double(m.relative_value.value());
  Mat z(size_t(batch * len * embed), 0.0), weights(size_t(batch * heads * len * len), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < len; ++i) {
        std::vector<double> e(static_cast<size_t>(len));
        for (int64_t j = 0; j < len; ++j) {
          const int64_t r = std::clamp<int64_t>(j - i, -K, K) + K;
          double acc = 0;
          for (int64_t d = 0; d < dh; ++d)
            acc += q[size_t((b * len + i) * embed + h * dh + d)] *
                   (k[size_t((b * len + j) * embed + h * dh + d)] + rk[size_t(r * dh + d)]);
          e[size_t(j)] = acc / std::sqrt(double(dh));
        }
        const int64_t length = lengths.empty() ? len : lengths[size_t(b)];
        auto a = testing::masked_softmax_ref(e.data(), len, testing::visible_ref(length, i, len, len, causal));
        for (int64_t j = 0; j < len; ++j) {
          weights[size_t(((b * heads + h) * len + i) * len + j)] = a[size_t(j)];
          const int64_t r = std::clamp<int64_t>(j - i, -K, K) + K;
          for (int64_t d = 0; d < dh; ++d)
            z[size_t((b * len + i) * embed + h * dh + d)] +=
                a[size_t(j)] * (v[size_t((b * len + j) * embed + h * dh + d)] + rv[size_t(r * dh + d)]);
        }
      }
  return {testing::linear_ref(z, batch * len, m.out_proj->weight.value(), m.out_proj->bias.value()), weights};
}

TEST(RelativeSelfAttention, MatchesReferenceWithClippedDistances) {
  Rng rng(2);
  for (bool causal : {false, true}) {
    const int64_t heads = 2, embed = 6, batch = 3, len = 7;
    RelativeSelfAttention att(embed, heads, /*max_distance=*/2, rng);
    std::vector<int32_t> lengths{7, 4, 0};
    Var x = random_var({batch, len, embed});
    Tensor w;
    Tensor out = att.forward(x, {lengths, causal}, &w).value();
    RelativeRef ref = relative_ref(att, x.value(), heads, lengths, causal);
    EXPECT_TRUE(all_close(w.to_vector(), ref.weights, 1e-4, 1e-6));
    // Valid positions only: a padded query's output is not meaningful.
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < lengths[size_t(b)]; ++i)
        EXPECT_TRUE(
            all_close(out.data() + (b * len + i) * embed, ref.out.data() + (b * len + i) * embed, embed, 1e-4, 1e-5))
            << "batch " << b << " position " << i;
  }
}

TEST(RelativeSelfAttention, NamesAndZeroDistanceIsOrdinaryAttention) {
  Rng rng(3);
  const int64_t embed = 8, heads = 2, dh = 4, batch = 2, len = 5;
  RelativeSelfAttention att(embed, heads, /*max_distance=*/0, rng);
  std::vector<std::string> names;
  for (auto& [n, v] : att.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"relative_key", "relative_value", "q_proj.weight", "q_proj.bias",
                                             "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias",
                                             "out_proj.weight", "out_proj.bias"}));
  EXPECT_EQ(att.relative_key.shape(), (Shape{1, dh}));
  std::vector<int32_t> lengths{5, 3};
  Var x = random_var({batch, len, embed});
  Tensor out = att.forward(x, {lengths}).value();
  // K = 0: every key carries the distance-0 embeddings, i.e. k_j + a^K_0 and v_j + a^V_0 in plain attention.
  auto heads_of = [&](const std::shared_ptr<Linear>& proj, const Var& add) {
    Var y = autograd::reshape(proj->forward(x), {batch, len, heads, dh});
    if (add.defined()) y = autograd::add(y, add);
    return autograd::contiguous(autograd::permute(y, {0, 2, 1, 3}));
  };
  Var ak = autograd::reshape(att.relative_key, {dh}), av = autograd::reshape(att.relative_value, {dh});
  Var o = autograd::scaled_dot_product_attention(heads_of(att.q_proj, Var()), heads_of(att.k_proj, ak),
                                                 heads_of(att.v_proj, av), {lengths});
  Tensor want =
      att.out_proj->forward(autograd::reshape(autograd::permute(o, {0, 2, 1, 3}), {batch, len, embed})).value();
  EXPECT_TRUE(all_close(out.to_vector(), testing::to_double(want), 1e-4, 1e-5));
}

TEST(RelativeSelfAttention, GradientPaddingAndErrors) {
  Rng rng(4);
  RelativeSelfAttention att(4, 2, 1, rng);
  std::vector<int32_t> lengths{4, 2};
  EXPECT_TRUE(module_gradcheck(att,
                               [&](const std::vector<Var>& x) {
                                 return att.forward(x[0], {lengths, true});
                               },
                               {{2, 4, 4}}));
  RelativeSelfAttention single(3, 1, 2, rng, /*bias=*/false);
  EXPECT_TRUE(module_gradcheck(single, [&](const std::vector<Var>& x) { return single.forward(x[0], {lengths}); },
                               {{2, 4, 3}}));
  // Padding: valid positions equal each sequence alone.
  Var x = random_var({2, 6, 4});
  std::vector<int32_t> pad{6, 3};
  Tensor batched = att.forward(x, {pad}).value();
  Tensor alone = att.forward(Var(testing::take_sequence(x.value(), 1, 3))).value();
  EXPECT_TRUE(all_close(testing::take_sequence(batched, 1, 3).to_vector(), testing::to_double(alone), 1e-4, 1e-6));
  expect_error(
      [&] {
        att.forward(random_var({2, 3, 5}));
      },
      {"RelativeSelfAttention(embed_dim 4, heads 2, max_distance 1)", "[2, 3, 5]"});
  std::vector<int32_t> bad{4, 9};
  expect_error([&] { att.forward(random_var({2, 4, 4}), {bad}); }, {"RelativeSelfAttention", "key length 9"});
  expect_error([&] { RelativeSelfAttention wrong(5, 2, 1, rng); }, {"RelativeSelfAttention", "embed_dim 5"});
}

}  // namespace
}  // namespace attn::nn
