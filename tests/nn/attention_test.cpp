// The attention catalogue: masked softmax and top-k ops, additive / dot / general / hard attention, attention
// pooling and the stacked self-attention encoder. Each against a double-precision reference, by finite
// differences, for padding invariance, and for its error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/attention_additive.h"
#include "attn/autograd/ops/attention_masking.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/additive.h"
#include "attn/nn/attention/dot.h"
#include "attn/nn/attention/general.h"
#include "attn/nn/attention/hard.h"
#include "attn/nn/attention/pooling.h"
#include "attn/nn/attention/stacked.h"
#include "autograd/gradcheck.h"
#include "nn/attention_test_util.h"

namespace attn::nn {
namespace {

using autograd::ScoreMask;
using testing::all_close;
using testing::gradcheck;
using testing::Mat;
using testing::module_gradcheck;
using testing::random_floats;
using testing::random_int;
using testing::random_lengths;
using testing::visible_ref;

Var random_var(const Shape& s, bool requires_grad = false) {
  return Var(Tensor::from_vector(s, random_floats(shape_numel(s))), requires_grad);
}

// context [B, Lq, Dv] and weights [B, Lq, Lk] from double scores [B, Lq, Lk] and values [B, Lk, Dv].
struct Attended {
  Mat context, weights;
};
Attended attend_ref(const Mat& scores, const Mat& values, int64_t batch, int64_t lq, int64_t lk, int64_t dv,
                    const std::vector<int32_t>& lengths, bool causal) {
  Attended r{Mat(size_t(batch * lq * dv), 0.0), Mat(size_t(batch * lq * lk), 0.0)};
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lq; ++i) {
      const int64_t row = b * lq + i;
      const int64_t len = lengths.empty() ? lk : lengths[size_t(b)];
      auto p = testing::masked_softmax_ref(scores.data() + row * lk, lk, visible_ref(len, i, lq, lk, causal));
      for (int64_t j = 0; j < lk; ++j) {
        r.weights[size_t(row * lk + j)] = p[size_t(j)];
        for (int64_t d = 0; d < dv; ++d)
          r.context[size_t(row * dv + d)] += p[size_t(j)] * values[size_t((b * lk + j) * dv + d)];
      }
    }
  return r;
}

// Every row of weights [rows, lk] sums to 1 over its visible keys (0 when none) and is exactly 0 elsewhere.
void expect_valid_weights(const Tensor& w, const std::vector<int32_t>& lengths, int64_t lq, bool causal = false) {
  const int64_t lk = w.size(-1), rows = w.numel() / lk, per_batch = rows / int64_t(lengths.size());
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / per_batch, i = r % lq;
    const int64_t visible = visible_ref(lengths[size_t(b)], i, lq, lk, causal);
    double sum = 0;
    for (int64_t j = 0; j < lk; ++j) {
      const float x = w.data()[r * lk + j];
      if (j >= visible) {
        EXPECT_EQ(x, 0.0f) << "row " << r << " key " << j;
      }
      EXPECT_FALSE(std::isnan(x));
      sum += x;
    }
    EXPECT_NEAR(sum, visible > 0 ? 1.0 : 0.0, 1e-5) << "row " << r;
  }
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const auto& p : pieces) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

std::vector<std::string> param_names(const Module& m) {
  std::vector<std::string> names;
  for (auto& [n, v] : m.named_parameters()) names.push_back(n);
  return names;
}

// ---- ops -------------------------------------------------------------------------------------------------------

TEST(AttentionMaskedSoftmax, MatchesReferenceUnderPaddingAndCausalMasks) {
  for (bool causal : {false, true}) {
    const int64_t batch = random_int(1, 4), heads = random_int(1, 3), lq = random_int(1, 7), lk = random_int(1, 19);
    auto lengths = random_lengths(batch, 0, lk);
    Var s = random_var({batch, heads, lq, lk});
    Tensor w = autograd::masked_softmax(s, ScoreMask{lengths, causal}).value();
    Mat sd = testing::to_double(s.value());
    std::vector<double> want;
    for (int64_t r = 0; r < batch * heads * lq; ++r) {
      const int64_t b = r / (heads * lq), i = r % lq;
      auto p = testing::masked_softmax_ref(sd.data() + r * lk, lk, visible_ref(lengths[size_t(b)], i, lq, lk, causal));
      want.insert(want.end(), p.begin(), p.end());
    }
    EXPECT_TRUE(all_close(w.to_vector(), want, 1e-5, 1e-7));
    expect_valid_weights(w, lengths, lq, causal);
  }
}

TEST(AttentionMaskedSoftmax, GradientByFiniteDifferences) {
  std::vector<int32_t> lengths{5, 0, 2};
  for (bool causal : {false, true}) {
    EXPECT_TRUE(gradcheck(
        [&](const std::vector<Var>& x) {
          return autograd::masked_softmax(x[0], {lengths, causal});
        },
        {{3, 2, 4, 5}}));
  }
  // [B, Lk]: one query per batch element.
  EXPECT_TRUE(
      gradcheck([&](const std::vector<Var>& x) { return autograd::masked_softmax(x[0], {lengths}); }, {{3, 5}}));
}

TEST(AttentionMaskedSoftmax, RejectsBadLengths) {
  std::vector<int32_t> too_long{4, 9};
  expect_error(
      [&] {
        autograd::masked_softmax(random_var({2, 3, 5}), {too_long});
      },
      {"masked_softmax", "key length 9", "[0, 5]"});
  std::vector<int32_t> three{1, 1, 1};
  expect_error(
      [&] {
        autograd::masked_softmax(random_var({2, 3, 5}), {three});
      },
      {"masked_softmax", "3 key lengths", "[2, 3, 5]"});
}

// Scores spaced 0.5 apart in a fixed order per row (rotated, reversed) plus small noise, so finite differences never
// change the ranking.
Var separated(const Var& noise) {
  const int64_t lk = noise.shape().back(), rows = noise.numel() / lk;
  std::vector<float> base(static_cast<size_t>(noise.numel()));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < lk; ++j) base[size_t(r * lk + j)] = 0.5f * float(((r - j) % lk + lk) % lk);
  return autograd::add(autograd::scale(noise, 0.1f), Var(Tensor::from_vector(noise.shape(), base)));
}

TEST(AttentionTopK, SelectsHighestScoresWithTiesToLowestIndex) {
  // Row 0: tie between keys 1 and 3 for the top; row 1 (length 2): k = 3 uses both valid keys; row 2: length 0.
  Var s(Tensor::from_vector({3, 1, 4}, {0.1f, 2.0f, -1.0f, 2.0f, /**/ 0.3f, -0.2f, 9.0f, 9.0f, /**/ 1, 2, 3, 4}));
  std::vector<int32_t> lengths{4, 2, 0};
  auto w1 = autograd::top_k_weights(s, 1, autograd::TopKWeighting::kMean, {lengths}).value().to_vector();
  EXPECT_EQ(w1, (std::vector<float>{0, 1, 0, 0, /**/ 1, 0, 0, 0, /**/ 0, 0, 0, 0}));
  auto w2 = autograd::top_k_weights(s, 2, autograd::TopKWeighting::kMean, {lengths}).value().to_vector();
  EXPECT_EQ(w2, (std::vector<float>{0, 0.5f, 0, 0.5f, /**/ 0.5f, 0.5f, 0, 0, /**/ 0, 0, 0, 0}));
  auto w3 = autograd::top_k_weights(s, 3, autograd::TopKWeighting::kSoftmax, {lengths}).value().to_vector();
  const double e = std::exp(0.1 - 2.0);  // keys 1, 3 (score 2) and 0 (0.1)
  std::vector<double> want{e / (2 + e), 1 / (2 + e), 0, 1 / (2 + e)};
  const double a = std::exp(0.3), c = std::exp(-0.2);
  for (double x : {a / (a + c), c / (a + c), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}) want.push_back(x);
  EXPECT_TRUE(all_close(w3, want, 1e-6, 1e-7));
}

TEST(AttentionTopK, MatchesSortReferenceOnRandomScores) {
  const int64_t batch = 3, lq = 4, lk = 11;
  auto lengths = random_lengths(batch, 0, lk);
  for (int64_t k : {1, 3, 20}) {
    Var s = random_var({batch, lq, lk});
    Tensor w = autograd::top_k_weights(s, k, autograd::TopKWeighting::kSoftmax, {lengths, true}).value();
    expect_valid_weights(w, lengths, lq, true);
    for (int64_t r = 0; r < batch * lq; ++r) {
      const int64_t visible = visible_ref(lengths[size_t(r / lq)], r % lq, lq, lk, true);
      std::vector<int64_t> order(static_cast<size_t>(visible));
      std::iota(order.begin(), order.end(), 0);
      const float* x = s.value().data() + r * lk;
      std::stable_sort(order.begin(), order.end(), [x](int64_t a, int64_t b) { return x[a] > x[b]; });
      const int64_t picked = std::min(k, visible);
      std::vector<double> want(size_t(lk), 0.0);
      double sum = 0;
      for (int64_t t = 0; t < picked; ++t) sum += std::exp(double(x[order[size_t(t)]]));
      for (int64_t t = 0; t < picked; ++t) want[size_t(order[size_t(t)])] = std::exp(double(x[order[size_t(t)]])) / sum;
      EXPECT_TRUE(all_close(w.data() + r * lk, want.data(), lk, 1e-5, 1e-7)) << "row " << r;
    }
  }
}

TEST(AttentionTopK, GradientByFiniteDifferences) {
  std::vector<int32_t> lengths{6, 3, 1};
  for (int64_t k : {1, 2, 4}) {
    EXPECT_TRUE(gradcheck(
        [&](const std::vector<Var>& x) {
          return autograd::top_k_weights(separated(x[0]), k, autograd::TopKWeighting::kSoftmax, {lengths});
        },
        {{3, 2, 6}}));
  }
  // The mean's weights do not move with the scores: zero gradient, as finite differences say.
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Var>& x) {
        return autograd::top_k_weights(separated(x[0]), 2, autograd::TopKWeighting::kMean, {lengths});
      },
      {{3, 2, 6}}));
}

Mat additive_scores_ref(const Mat& qp, const Mat& kp, const Mat& v, int64_t batch, int64_t lq, int64_t lk,
                        int64_t hidden) {
  Mat s(size_t(batch * lq * lk));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t j = 0; j < lk; ++j) {
        double acc = 0;
        for (int64_t h = 0; h < hidden; ++h)
          acc +=
              v[size_t(h)] * std::tanh(qp[size_t((b * lq + i) * hidden + h)] + kp[size_t((b * lk + j) * hidden + h)]);
        s[size_t((b * lq + i) * lk + j)] = acc;
      }
  return s;
}

TEST(AttentionAdditiveScores, MatchesReferenceAndSkipsMaskedKeys) {
  const int64_t batch = 3, lq = random_int(1, 5), lk = random_int(2, 9), hidden = random_int(1, 21);
  auto lengths = random_lengths(batch, 0, lk);
  Var qp = random_var({batch, lq, hidden}), kp = random_var({batch, lk, hidden}), v = random_var({hidden});
  Tensor s = autograd::additive_scores(qp, kp, v, {lengths}).value();
  Mat want = additive_scores_ref(testing::to_double(qp.value()), testing::to_double(kp.value()),
                                 testing::to_double(v.value()), batch, lq, lk, hidden);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t j = lengths[size_t(b)]; j < lk; ++j) want[size_t((b * lq + i) * lk + j)] = 0.0;
  EXPECT_TRUE(all_close(s.to_vector(), want, 1e-5, 1e-6));
}

TEST(AttentionAdditiveScores, GradientByFiniteDifferences) {
  std::vector<int32_t> lengths{4, 0, 2};
  for (int64_t hidden : {3, 19}) {
    EXPECT_TRUE(
        gradcheck([&](const std::vector<Var>& x) { return autograd::additive_scores(x[0], x[1], x[2], {lengths}); },
                  {{3, 2, hidden}, {3, 4, hidden}, {hidden}}));
    EXPECT_TRUE(gradcheck(
        [&](const std::vector<Var>& x) {
          return autograd::additive_scores(x[0], x[1], x[2], {{}, true});
        },
        {{2, 3, hidden}, {2, 5, hidden}, {hidden}}));
  }
}

// ---- additive attention ----------------------------------------------------------------------------------------

TEST(AdditiveAttention, ParameterNamesAndShapes) {
  Rng rng(1);
  AdditiveAttention att(6, 5, 4, rng);
  EXPECT_EQ(param_names(att), (std::vector<std::string>{"W.weight", "U.weight", "U.bias", "v.weight"}));
  EXPECT_EQ(att.v->weight.shape(), (Shape{1, 4}));
  AdditiveAttention no_bias(6, 5, 4, rng, false);
  EXPECT_EQ(param_names(no_bias), (std::vector<std::string>{"W.weight", "U.weight", "v.weight"}));
}

TEST(AdditiveAttention, MatchesReferenceWithWeightsForBothQueryShapes) {
  Rng rng(2);
  const int64_t batch = 4, dq = 5, dk = 3, dv = 7, hidden = 6, lk = 9;
  AdditiveAttention att(dq, dk, hidden, rng);
  auto lengths = random_lengths(batch, 0, lk);
  lengths[0] = int32_t(lk);
  lengths[1] = 0;
  for (int64_t lq : {int64_t{0}, int64_t{3}}) {  // 0: a [B, Dq] query
    Var q = lq == 0 ? random_var({batch, dq}) : random_var({batch, lq, dq});
    Var k = random_var({batch, lk, dk}), v = random_var({batch, lk, dv});
    Tensor w;
    Var out = att.forward(q, k, v, {lengths}, &w);
    const int64_t rows = std::max<int64_t>(lq, 1);
    EXPECT_EQ(out.shape(), lq == 0 ? Shape({batch, dv}) : Shape({batch, lq, dv}));
    EXPECT_EQ(w.shape(), lq == 0 ? Shape({batch, lk}) : Shape({batch, lq, lk}));
    Mat qp = testing::linear_ref(testing::to_double(q.value()), batch * rows, att.w->weight.value(), Tensor());
    Mat kp = testing::linear_ref(testing::to_double(k.value()), batch * lk, att.u->weight.value(), att.u->bias.value());
    Mat s = additive_scores_ref(qp, kp, testing::to_double(att.v->weight.value()), batch, rows, lk, hidden);
    auto ref = attend_ref(s, testing::to_double(v.value()), batch, rows, lk, dv, lengths, false);
    EXPECT_TRUE(all_close(out.value().to_vector(), ref.context, 1e-4, 1e-6));
    EXPECT_TRUE(all_close(w.to_vector(), ref.weights, 1e-4, 1e-7));
    expect_valid_weights(w, lengths, rows);
    for (int64_t i = 0; i < rows * dv; ++i) EXPECT_EQ(out.value().data()[1 * rows * dv + i], 0.0f);  // length 0
  }
}

TEST(AdditiveAttention, GradientByFiniteDifferences) {
  Rng rng(3);
  AdditiveAttention att(4, 3, 5, rng);
  std::vector<int32_t> lengths{5, 2, 0};
  EXPECT_TRUE(module_gradcheck(att, [&](const std::vector<Var>& x) { return att.forward(x[0], x[1], x[2], {lengths}); },
                               {{3, 2, 4}, {3, 5, 3}, {3, 5, 2}}));
  EXPECT_TRUE(module_gradcheck(att,
                               [&](const std::vector<Var>& x) {
                                 return att.forward(x[0], x[1], x[1], {{}, true});
                               },
                               {{2, 4}, {2, 4, 3}}));
}

// Runs `f` on a padded batch and on each sequence alone (cut to its length); the valid outputs must agree and
// padding values must not matter. f(query, keys/values, lengths) -> [B, Lq, D].
void expect_padding_invariant(const std::function<Var(const Var&, const Var&, std::vector<int32_t>)>& f, int64_t batch,
                              int64_t lq, int64_t lk, int64_t dq, int64_t dk) {
  auto lengths = random_lengths(batch, 1, lk);
  lengths[0] = int32_t(lk);
  Var q = random_var({batch, lq, dq}), kv = random_var({batch, lk, dk});
  Tensor batched = f(q, kv, lengths).value();
  // Garbage in the padding leaves everything unchanged.
  Tensor kv2 = kv.value().clone();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = lengths[size_t(b)]; j < lk; ++j)
      for (int64_t d = 0; d < dk; ++d) kv2.at({b, j, d}) = 1e3f * float(j + d);
  EXPECT_TRUE(all_close(f(q, Var(kv2), lengths).value().to_vector(), testing::to_double(batched), 1e-5, 1e-6));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths[size_t(b)];
    Tensor alone =
        f(Var(q.value().slice(0, b, b + 1).contiguous()), Var(testing::take_sequence(kv.value(), b, len)), {}).value();
    Tensor mine = batched.slice(0, b, b + 1).contiguous();
    EXPECT_TRUE(all_close(mine.to_vector(), testing::to_double(alone), 1e-4, 1e-6)) << "sequence " << b;
  }
}

TEST(AdditiveAttention, PaddingNeverLeaks) {
  Rng rng(4);
  AdditiveAttention att(5, 6, 7, rng);
  expect_padding_invariant(
      [&](const Var& q, const Var& kv, std::vector<int32_t> l) { return att.forward(q, kv, kv, {l}); }, 4, 3, 8, 5, 6);
}

TEST(AdditiveAttention, ErrorsNameModuleAndShapes) {
  Rng rng(5);
  AdditiveAttention att(5, 6, 7, rng);
  expect_error(
      [&] {
        att.forward(random_var({2, 3, 4}), random_var({2, 4, 6}), random_var({2, 4, 6}));
      },
      {"AdditiveAttention(query 5, key 6, hidden 7)", "query [2, 3, 4]", "keys [2, 4, 6]"});
  expect_error(
      [&] {
        att.forward(random_var({2, 5}), random_var({3, 4, 6}), random_var({3, 4, 6}));
      },
      {"AdditiveAttention", "query [2, 5]", "keys [3, 4, 6]"});
  std::vector<int32_t> bad{4, 5};
  expect_error(
      [&] {
        att.forward(random_var({2, 5}), random_var({2, 4, 6}), random_var({2, 4, 6}), {bad});
      },
      {"AdditiveAttention", "key length 5", "keys [2, 4, 6]"});
}

// ---- dot and general attention -------------------------------------------------------------------------------

Mat dot_scores_ref(const Mat& q, const Mat& k, int64_t batch, int64_t lq, int64_t lk, int64_t d, double scale) {
  Mat s(size_t(batch * lq * lk));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t j = 0; j < lk; ++j) {
        double acc = 0;
        for (int64_t t = 0; t < d; ++t) acc += q[size_t((b * lq + i) * d + t)] * k[size_t((b * lk + j) * d + t)];
        s[size_t((b * lq + i) * lk + j)] = scale * acc;
      }
  return s;
}

TEST(DotAttention, FusedAndExplicitPathsMatchReference) {
  for (bool scaled : {false, true})
    for (bool causal : {false, true})
      for (int64_t dv : {int64_t{6}, int64_t{3}}) {  // 6 = the keys' size: fused kernel; 3: explicit scores
        DotAttention att(scaled);
        const int64_t batch = 3, lq = random_int(1, 6), lk = random_int(1, 10), d = 6;
        auto lengths = random_lengths(batch, 0, lk);
        Var q = random_var({batch, lq, d}), k = random_var({batch, lk, d}), v = random_var({batch, lk, dv});
        Tensor w;
        Var out = att.forward(q, k, v, {lengths, causal}, &w);
        Mat s = dot_scores_ref(testing::to_double(q.value()), testing::to_double(k.value()), batch, lq, lk, d,
                               scaled ? 1 / std::sqrt(6.0) : 1.0);
        auto ref = attend_ref(s, testing::to_double(v.value()), batch, lq, lk, dv, lengths, causal);
        EXPECT_TRUE(all_close(out.value().to_vector(), ref.context, 1e-4, 1e-6));
        EXPECT_TRUE(all_close(w.to_vector(), ref.weights, 1e-4, 1e-7));
        expect_valid_weights(w, lengths, lq, causal);
      }
}

TEST(DotAttention, GradientByFiniteDifferencesOnBothPaths) {
  DotAttention att(true);
  std::vector<int32_t> lengths{4, 0, 1};
  for (int64_t dv : {3, 2}) {
    EXPECT_TRUE(gradcheck([&](const std::vector<Var>& x) { return att.forward(x[0], x[1], x[2], {lengths}); },
                          {{3, 2, 3}, {3, 4, 3}, {3, 4, dv}}));
    EXPECT_TRUE(gradcheck([&](const std::vector<Var>& x) { return att.forward(x[0], x[1], x[2], {lengths}); },
                          {{3, 3}, {3, 4, 3}, {3, 4, dv}}));
  }
}

TEST(DotAttention, PaddingNeverLeaksAndErrors) {
  DotAttention att;
  expect_padding_invariant(
      [&](const Var& q, const Var& kv, std::vector<int32_t> l) { return att.forward(q, kv, kv, {l}); }, 3, 4, 7, 5, 5);
  expect_error(
      [&] {
        att.forward(random_var({2, 4}), random_var({2, 3, 5}), random_var({2, 3, 5}));
      },
      {"DotAttention", "query [2, 4]", "keys [2, 3, 5]"});
}

TEST(GeneralAttention, MatchesReferenceAndGradients) {
  Rng rng(6);
  const int64_t batch = 3, dq = 4, dk = 5, lk = 6, lq = 2;
  GeneralAttention att(dq, dk, rng, /*scaled=*/true);
  EXPECT_EQ(param_names(att), (std::vector<std::string>{"W.weight"}));
  EXPECT_EQ(att.w->weight.shape(), (Shape{dq, dk}));
  auto lengths = random_lengths(batch, 0, lk);
  Var q = random_var({batch, lq, dq}), k = random_var({batch, lk, dk});
  Tensor w;
  Var out = att.forward(q, k, k, {lengths}, &w);
  Mat wk = testing::linear_ref(testing::to_double(k.value()), batch * lk, att.w->weight.value(), Tensor());
  Mat s = dot_scores_ref(testing::to_double(q.value()), wk, batch, lq, lk, dq, 1 / std::sqrt(double(dq)));
  auto ref = attend_ref(s, testing::to_double(k.value()), batch, lq, lk, dk, lengths, false);
  EXPECT_TRUE(all_close(out.value().to_vector(), ref.context, 1e-4, 1e-6));
  EXPECT_TRUE(all_close(w.to_vector(), ref.weights, 1e-4, 1e-7));
  std::vector<int32_t> grad_lengths{3, 1, 0};
  EXPECT_TRUE(module_gradcheck(att,
                               [&](const std::vector<Var>& x) { return att.forward(x[0], x[1], x[2], {grad_lengths}); },
                               {{3, 2, dq}, {3, 3, dk}, {3, 3, 2}}));
  GeneralAttention square(4, 4, rng);  // W k has the values' shape: the fused path
  EXPECT_TRUE(module_gradcheck(
      square, [&](const std::vector<Var>& x) { return square.forward(x[0], x[1], x[1], {grad_lengths}); },
      {{3, 4}, {3, 3, 4}}));
  expect_padding_invariant(
      [&](const Var& q2, const Var& kv, std::vector<int32_t> l) { return att.forward(q2, kv, kv, {l}); }, 3, 2, 6, dq,
      dk);
  expect_error(
      [&] {
        att.forward(random_var({2, 2, 4}), random_var({2, 3, 4}), random_var({2, 3, 4}));
      },
      {"GeneralAttention(query 4, key 5)", "keys [2, 3, 4]"});
}

// ---- attention pooling ---------------------------------------------------------------------------------------

TEST(AttentionPooling, MatchesReferenceAndMasksPadding) {
  Rng rng(7);
  const int64_t batch = 4, steps = 7, dim = 5, att_dim = 3;
  AttentionPooling pool(dim, att_dim, rng);
  EXPECT_EQ(param_names(pool), (std::vector<std::string>{"context", "proj.weight", "proj.bias"}));
  std::vector<int32_t> lengths{7, 3, 0, 1};
  Var h = random_var({batch, steps, dim});
  Tensor w;
  Var out = pool.forward(h, lengths, &w);
  ASSERT_EQ(out.shape(), (Shape{batch, dim}));
  ASSERT_EQ(w.shape(), (Shape{batch, steps}));
  Mat u = testing::linear_ref(testing::to_double(h.value()), batch * steps, pool.proj->weight.value(),
                              pool.proj->bias.value());
  Mat ctx = testing::to_double(pool.context.value()), s(size_t(batch * steps));
  for (int64_t t = 0; t < batch * steps; ++t) {
    double acc = 0;
    for (int64_t a = 0; a < att_dim; ++a) acc += std::tanh(u[size_t(t * att_dim + a)]) * ctx[size_t(a)];
    s[size_t(t)] = acc;
  }
  auto ref = attend_ref(s, testing::to_double(h.value()), batch, 1, steps, dim, lengths, false);
  EXPECT_TRUE(all_close(out.value().to_vector(), ref.context, 1e-4, 1e-6));
  EXPECT_TRUE(all_close(w.to_vector(), ref.weights, 1e-4, 1e-7));
  expect_valid_weights(w, lengths, 1);
  expect_padding_invariant([&](const Var&, const Var& x, std::vector<int32_t> l) { return pool.forward(x, l); }, 3, 1,
                           6, 1, dim);
}

TEST(AttentionPooling, GradientByFiniteDifferencesAndErrors) {
  Rng rng(8);
  AttentionPooling pool(4, 3, rng);
  std::vector<int32_t> lengths{5, 2, 0};
  EXPECT_TRUE(
      module_gradcheck(pool, [&](const std::vector<Var>& x) { return pool.forward(x[0], lengths); }, {{3, 5, 4}}));
  expect_error([&] { pool.forward(random_var({2, 5, 3})); }, {"AttentionPooling(input 4, attention 3)", "[2, 5, 3]"});
  std::vector<int32_t> bad{2};
  expect_error([&] { pool.forward(random_var({2, 5, 4}), bad); }, {"AttentionPooling", "1 key lengths", "[2, 5, 4]"});
}

// ---- hard attention -----------------------------------------------------------------------------------------

TEST(HardAttention, ArgmaxMeanAndRenormalisedSelection) {
  // Keys are one-hot rows; the query picks them by score.
  Var q(Tensor::from_vector({1, 3}, {1.0f, 3.0f, 2.0f}));
  Var k(Tensor::from_vector({1, 3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}));
  Var v(Tensor::from_vector({1, 3, 2}, {10, 1, 20, 2, 30, 3}));
  Tensor w;
  HardAttention argmax(1, TopKWeighting::kMean, false);
  EXPECT_EQ(argmax.forward(q, k, v, {}, &w).value().to_vector(), (std::vector<float>{20, 2}));
  EXPECT_EQ(w.to_vector(), (std::vector<float>{0, 1, 0}));
  HardAttention two(2, TopKWeighting::kMean, false);
  EXPECT_EQ(two.forward(q, k, v).value().to_vector(), (std::vector<float>{25, 2.5f}));
  std::vector<int32_t> one{1};  // k beyond the valid length: all valid keys
  EXPECT_EQ(two.forward(q, k, v, {one}, &w).value().to_vector(), (std::vector<float>{10, 1}));
  EXPECT_EQ(w.to_vector(), (std::vector<float>{1, 0, 0}));
  HardAttention soft(2, TopKWeighting::kSoftmax, false);
  const double a = 1 / (1 + std::exp(-1.0));  // softmax of scores 3 and 2
  EXPECT_TRUE(all_close(soft.forward(q, k, v).value().to_vector(), {20 * a + 30 * (1 - a), 2 * a + 3 * (1 - a)}, 1e-6));
  std::vector<int32_t> none{0};
  EXPECT_EQ(soft.forward(q, k, v, {none}).value().to_vector(), (std::vector<float>{0, 0}));
}

TEST(HardAttention, GradientsReachSelectedValuesAndRenormalisedScores) {
  std::vector<int32_t> lengths{5, 2, 0};
  HardAttention mean(2, TopKWeighting::kMean);
  HardAttention soft(3, TopKWeighting::kSoftmax);
  Var q = random_var({3, 2, 4}), k = random_var({3, 5, 4});
  EXPECT_TRUE(gradcheck([&](const std::vector<Var>& x) { return mean.forward(q, k, x[0], {lengths}); }, {{3, 5, 3}}));
  // Queries and keys near fixed points whose scores are 1 apart, so finite differences keep the selection.
  auto near = [](const Var& noise, const Shape& shape, const std::function<float(int64_t, int64_t)>& base) {
    std::vector<float> b(size_t(shape_numel(shape)));
    for (int64_t r = 0; r < shape_numel(shape) / shape.back(); ++r)
      for (int64_t d = 0; d < shape.back(); ++d) b[size_t(r * shape.back() + d)] = base(r, d);
    return autograd::add(autograd::scale(noise, 0.05f), Var(Tensor::from_vector(shape, b)));
  };
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Var>& x) {
        Var qq = near(x[0], {3, 2, 4}, [](int64_t, int64_t d) { return d == 0 ? 1.0f : 0.0f; });
        Var kk = near(x[1], {3, 5, 4}, [](int64_t r, int64_t d) { return d == 0 ? float((r * 3) % 5) : 0.0f; });
        return soft.forward(qq, kk, x[2], {lengths});
      },
      {{3, 2, 4}, {3, 5, 4}, {3, 5, 3}}));
  // forward_scores takes any scores, e.g. [B, Lk] for one query each.
  EXPECT_TRUE(
      gradcheck([&](const std::vector<Var>& x) { return soft.forward_scores(separated(x[0]), x[1], {lengths}); },
                {{3, 5}, {3, 5, 2}}));
}

TEST(HardAttention, PaddingNeverLeaksAndErrors) {
  HardAttention att(2, TopKWeighting::kSoftmax);
  expect_padding_invariant(
      [&](const Var& q, const Var& kv, std::vector<int32_t> l) { return att.forward(q, kv, kv, {l}); }, 3, 2, 6, 4, 4);
  expect_error([] { HardAttention bad(0); }, {"HardAttention", "k must be at least 1"});
  expect_error(
      [&] {
        att.forward_scores(random_var({2, 4}), random_var({2, 5, 3}));
      },
      {"HardAttention(k 2, softmax)", "scores [2, 4]", "values [2, 5, 3]"});
}

// ---- stacked self-attention ----------------------------------------------------------------------------------

TEST(StackedSelfAttention, WeightsPerLayerNamesAndPadding) {
  Rng rng(9);
  const int64_t layers = 3, embed = 8, heads = 2, batch = 3, len = 6;
  StackedSelfAttention stack(layers, embed, heads, rng);
  auto names = param_names(stack);
  EXPECT_EQ(names.front(), "layers.0.attn.in_proj_weight");
  EXPECT_EQ(names.back(), "layers.2.norm.bias");
  std::vector<int32_t> lengths{6, 2, 4};
  Var x = random_var({batch, len, embed});
  std::vector<Tensor> w;
  Var out = stack.forward(x, {lengths}, &w, /*per_head=*/true);
  EXPECT_EQ(out.shape(), x.shape());
  ASSERT_EQ(w.size(), size_t(layers));
  for (const Tensor& t : w) {
    EXPECT_EQ(t.shape(), (Shape{batch, heads, len, len}));
    expect_valid_weights(t, lengths, len);
  }
  // Valid positions of each sequence equal the sequence run alone (padded positions are never attended to).
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t l = lengths[size_t(b)];
    Tensor alone = stack.forward(Var(testing::take_sequence(x.value(), b, l))).value();
    Tensor mine = testing::take_sequence(out.value(), b, l);
    EXPECT_TRUE(all_close(mine.to_vector(), testing::to_double(alone), 1e-4, 1e-5)) << "sequence " << b;
  }
  expect_error(
      [&] {
        stack.forward(random_var({2, 3, 7}));
      },
      {"StackedSelfAttention(layers 3, embed_dim 8, heads 2)", "[2, 3, 7]"});
}

TEST(StackedSelfAttention, GradientByFiniteDifferences) {
  Rng rng(10);
  StackedSelfAttention stack(2, 4, 2, rng);
  std::vector<int32_t> lengths{3, 1};
  EXPECT_TRUE(module_gradcheck(
      stack, [&](const std::vector<Var>& x) { return stack.forward(x[0], {lengths}); }, {{2, 3, 4}}, 1e-2, 3e-2, 3e-3));
}

}  // namespace
}  // namespace attn::nn
