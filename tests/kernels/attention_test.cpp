#include "attn/kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/dropout.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;
using testing::random_int;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Case {
  AttentionShape s;
  std::vector<int32_t> key_lengths;  // empty: no padding mask
  bool causal = false;
  AttentionMask mask() const { return {key_lengths.empty() ? nullptr : key_lengths.data(), causal}; }
};

bool visible(const Case& c, int64_t b, int64_t i, int64_t j) {
  if (!c.key_lengths.empty() && j >= c.key_lengths[b]) return false;
  if (c.causal && j > i + (c.s.len_k - c.s.len_q)) return false;
  return true;
}

// Double-precision reference: out, lse and weights of masked softmax attention. With `factors` ([B, H, Lq, Lk],
// dropout's 0 or 1 / (1 - p) per weight) out is the dropped weights times V; the weights stay undropped.
struct Reference {
  std::vector<double> out, lse, weights;
};

template <typename T>
Reference reference_forward(const Case& c, const std::vector<T>& q, const std::vector<T>& k, const std::vector<T>& v,
                            double scale, const std::vector<double>* factors = nullptr) {
  const auto& s = c.s;
  Reference r;
  r.out.assign(s.batch * s.heads * s.len_q * s.head_dim, 0.0);
  r.lse.assign(s.batch * s.heads * s.len_q, -kInf);
  r.weights.assign(s.batch * s.heads * s.len_q * s.len_k, 0.0);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      int64_t bh = b * s.heads + h;
      for (int64_t i = 0; i < s.len_q; ++i) {
        std::vector<double> sc(s.len_k, -kInf);
        double mx = -kInf;
        for (int64_t j = 0; j < s.len_k; ++j) {
          if (!visible(c, b, i, j)) continue;
          double dot = 0;
          for (int64_t d = 0; d < s.head_dim; ++d)
            dot += double(q[(bh * s.len_q + i) * s.head_dim + d]) * double(k[(bh * s.len_k + j) * s.head_dim + d]);
          sc[j] = dot * scale;
          mx = std::max(mx, sc[j]);
        }
        if (mx == -kInf) continue;
        double sum = 0;
        for (int64_t j = 0; j < s.len_k; ++j) sum += sc[j] == -kInf ? 0.0 : std::exp(sc[j] - mx);
        r.lse[bh * s.len_q + i] = mx + std::log(sum);
        for (int64_t j = 0; j < s.len_k; ++j) {
          double w = sc[j] == -kInf ? 0.0 : std::exp(sc[j] - mx) / sum;
          r.weights[(bh * s.len_q + i) * s.len_k + j] = w;
          const double dropped = factors ? w * (*factors)[(bh * s.len_q + i) * s.len_k + j] : w;
          for (int64_t d = 0; d < s.head_dim; ++d)
            r.out[(bh * s.len_q + i) * s.head_dim + d] += dropped * double(v[(bh * s.len_k + j) * s.head_dim + d]);
        }
      }
    }
  return r;
}

// Analytic gradients in double (the textbook softmax-attention backward; with dropout factors F, out = (W o F) V:
// dV = (W o F)^T dO, dW = F o dO V^T), for large shapes where finite differences would be slow; the
// finite-difference test below checks this formula on small shapes.
void reference_backward(const Case& c, const std::vector<float>& q, const std::vector<float>& k,
                        const std::vector<float>& v, const std::vector<float>& dout, double scale,
                        std::vector<double>& dq, std::vector<double>& dk, std::vector<double>& dv,
                        const std::vector<double>* factors = nullptr) {
  const auto& s = c.s;
  Reference f = reference_forward(c, q, k, v, scale);
  dq.assign(q.size(), 0.0);
  dk.assign(k.size(), 0.0);
  dv.assign(v.size(), 0.0);
  const int64_t D = s.head_dim;
  for (int64_t bh = 0; bh < s.batch * s.heads; ++bh)
    for (int64_t i = 0; i < s.len_q; ++i) {
      const double* w = &f.weights[(bh * s.len_q + i) * s.len_k];
      const float* go = &dout[(bh * s.len_q + i) * D];
      std::vector<double> dp(s.len_k, 0.0);
      double dot_wdp = 0;
      for (int64_t j = 0; j < s.len_k; ++j) {
        const double factor = factors ? (*factors)[(bh * s.len_q + i) * s.len_k + j] : 1.0;
        for (int64_t d = 0; d < D; ++d) {
          dp[j] += double(go[d]) * v[(bh * s.len_k + j) * D + d];
          dv[(bh * s.len_k + j) * D + d] += w[j] * factor * go[d];
        }
        dp[j] *= factor;
        dot_wdp += w[j] * dp[j];
      }
      for (int64_t j = 0; j < s.len_k; ++j) {
        double ds = w[j] * (dp[j] - dot_wdp) * scale;
        for (int64_t d = 0; d < D; ++d) {
          dq[(bh * s.len_q + i) * D + d] += ds * k[(bh * s.len_k + j) * D + d];
          dk[(bh * s.len_k + j) * D + d] += ds * q[(bh * s.len_q + i) * D + d];
        }
      }
    }
}

Case random_case(int64_t B, int64_t H, int64_t Lq, int64_t Lk, int64_t D, bool padded, bool causal) {
  Case c{{B, H, Lq, Lk, D}, {}, causal};
  if (padded) {
    for (int64_t b = 0; b < B; ++b) c.key_lengths.push_back(int32_t(random_int(0, Lk)));
    c.key_lengths[0] = int32_t(Lk);  // keep one full row
  }
  return c;
}

// What the explicit path multiplies each weight of [B, H, Lq, Lk] by: dropout_forward over ones with the draws.
std::vector<double> dropout_factors(const AttentionShape& s, const DropoutDraws& d) {
  const int64_t n = s.batch * s.heads * s.len_q * s.len_k;
  std::vector<float> ones(static_cast<size_t>(n), 1.0f), factors(static_cast<size_t>(n));
  dropout_forward(n, ones.data(), d.p, d.seed, d.offset, factors.data(), nullptr);
  return {factors.begin(), factors.end()};
}

void expect_forward_matches(const Case& c, float amplitude = 1.0f) {
  const auto& s = c.s;
  auto q = random_floats(s.batch * s.heads * s.len_q * s.head_dim, -amplitude, amplitude);
  auto k = random_floats(s.batch * s.heads * s.len_k * s.head_dim, -amplitude, amplitude);
  auto v = random_floats(s.batch * s.heads * s.len_k * s.head_dim);
  const float scale = 1.0f / std::sqrt(float(s.head_dim));
  std::vector<float> out(q.size()), lse(s.batch * s.heads * s.len_q);
  attention_forward(s, q.data(), k.data(), v.data(), c.mask(), scale, out.data(), lse.data());
  Reference r = reference_forward(c, q, k, v, scale);
  double rtol = amplitude > 10 ? 1e-3 : 2e-5;  // huge scores amplify float rounding of Q K^T itself
  EXPECT_TRUE(all_close(out, r.out, rtol, 1e-5)) << "out";
  EXPECT_TRUE(all_close(lse, r.lse, rtol, 1e-5)) << "lse";

  std::vector<float> out_w(q.size()), weights(s.batch * s.heads * s.len_q * s.len_k);
  attention_with_weights(s, q.data(), k.data(), v.data(), c.mask(), scale, out_w.data(), weights.data());
  EXPECT_TRUE(all_close(weights, r.weights, rtol, 1e-6)) << "weights";
  EXPECT_TRUE(all_close(out_w, r.out, rtol, 1e-5)) << "out (weights path)";
}

void expect_backward_matches(const Case& c) {
  const auto& s = c.s;
  auto q = random_floats(s.batch * s.heads * s.len_q * s.head_dim);
  auto k = random_floats(s.batch * s.heads * s.len_k * s.head_dim);
  auto v = random_floats(s.batch * s.heads * s.len_k * s.head_dim);
  auto dout = random_floats(q.size());
  const float scale = 1.0f / std::sqrt(float(s.head_dim));
  std::vector<float> out(q.size()), lse(s.batch * s.heads * s.len_q);
  attention_forward(s, q.data(), k.data(), v.data(), c.mask(), scale, out.data(), lse.data());
  std::vector<float> dq(q.size(), 7.0f), dk(k.size(), 7.0f), dv(v.size(), 7.0f);  // must be overwritten
  attention_backward(s, q.data(), k.data(), v.data(), out.data(), dout.data(), lse.data(), c.mask(), scale,
                     dq.data(), dk.data(), dv.data());
  std::vector<double> rq, rk, rv;
  reference_backward(c, q, k, v, dout, scale, rq, rk, rv);
  EXPECT_TRUE(all_close(dq, rq, 1e-4, 1e-5)) << "dq";
  EXPECT_TRUE(all_close(dk, rk, 1e-4, 1e-5)) << "dk";
  EXPECT_TRUE(all_close(dv, rv, 1e-4, 1e-5)) << "dv";
}

TEST(Attention, ForwardMatchesDoubleReferenceOverRandomShapes) {
  for (int64_t D : {1, 3, 8, 16, 17, 64, 80})
    for (int64_t L : {1, 3, 17, 64, 65, 130})
      for (bool causal : {false, true})
        for (bool padded : {false, true}) {
          int64_t Lq = causal ? std::max<int64_t>(1, L - random_int(0, 2)) : random_int(1, 70);
          Case c = random_case(random_int(1, 3), random_int(1, 3), Lq, L, D, padded, causal);
          SCOPED_TRACE(::testing::Message() << "D=" << D << " Lq=" << Lq << " Lk=" << L << " causal=" << causal
                                            << " padded=" << padded);
          expect_forward_matches(c);
        }
}

// [B, H, L, D] contiguous <-> a [B, L, H, width] layout (width >= D; heads of a row side by side, as a fused q/k/v
// projection or the output projection's input holds them), filler in the gaps.
HeadStrides interleaved(const AttentionShape& s, int64_t len, int64_t width) {
  return {len * s.heads * width, width, s.heads * width};
}
std::vector<float> scatter_heads(const AttentionShape& s, int64_t len, int64_t width, const std::vector<float>& x,
                                 float filler) {
  const HeadStrides st = interleaved(s, len, width);
  std::vector<float> out(size_t(s.batch * len * s.heads * width), filler);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < len; ++i)
        for (int64_t d = 0; d < s.head_dim; ++d)
          out[size_t(b * st.batch + h * st.head + i * st.row + d)] =
              x[size_t(((b * s.heads + h) * len + i) * s.head_dim + d)];
  return out;
}

TEST(Attention, StridedForwardReadsAndWritesInPlace) {
  for (int64_t D : {3, 8, 17, 32})
    for (bool causal : {false, true})
      for (bool padded : {false, true}) {
        const int64_t L = random_int(1, 140), Lq = causal ? L : random_int(1, 100);
        Case c = random_case(random_int(1, 3), random_int(1, 4), Lq, L, D, padded, causal);
        const auto& s = c.s;
        SCOPED_TRACE(::testing::Message() << "D=" << D << " Lq=" << Lq << " Lk=" << L << " causal=" << causal
                                          << " padded=" << padded);
        auto q = random_floats(s.batch * s.heads * Lq * D), k = random_floats(s.batch * s.heads * L * D);
        auto v = random_floats(k.size());
        const float scale = 1.0f / std::sqrt(float(D));
        const int64_t wq = D + random_int(0, 5), wk = D + random_int(0, 5), wv = D + random_int(0, 5), wo = D + 2;
        auto qs = scatter_heads(s, Lq, wq, q, 1e30f), ks = scatter_heads(s, L, wk, k, 1e30f);
        auto vs = scatter_heads(s, L, wv, v, 1e30f);
        std::vector<float> outs(size_t(s.batch * Lq * s.heads * wo), -7.0f);
        const AttentionStrides st{interleaved(s, Lq, wq), interleaved(s, L, wk), interleaved(s, L, wv),
                                  interleaved(s, Lq, wo)};
        attention_forward_strided(s, qs.data(), ks.data(), vs.data(), st, c.mask(), scale, outs.data(), nullptr);
        std::vector<float> contiguous_out(q.size()), lse(size_t(s.batch * s.heads * Lq));
        attention_forward(s, q.data(), k.data(), v.data(), c.mask(), scale, contiguous_out.data(), lse.data());
        EXPECT_EQ(outs, scatter_heads(s, Lq, wo, contiguous_out, -7.0f));  // same arithmetic, gaps untouched
        EXPECT_TRUE(all_close(contiguous_out, reference_forward(c, q, k, v, scale).out, 2e-5, 1e-5));
      }
}

TEST(Attention, ForwardLongSequence) {
  expect_forward_matches(random_case(1, 2, 1000, 1000, 64, false, true));
  expect_forward_matches(random_case(2, 1, 257, 1000, 17, true, false));
}

TEST(Attention, ExtremeScoresDoNotOverflow) {
  // Scores around +-1e4 (q, k entries up to 25 with head_dim 16 and scale 1/4).
  Case c = random_case(2, 2, 33, 70, 16, true, true);
  expect_forward_matches(c, 25.0f);
}

TEST(Attention, FullyMaskedRowsGiveZerosNeverNaN) {
  Case c{{2, 2, 5, 9, 8}, {0, 4}, false};
  auto q = random_floats(2 * 2 * 5 * 8), k = random_floats(2 * 2 * 9 * 8), v = random_floats(2 * 2 * 9 * 8);
  std::vector<float> out(q.size(), 3.0f), lse(2 * 2 * 5);
  attention_forward(c.s, q.data(), k.data(), v.data(), c.mask(), 0.5f, out.data(), lse.data());
  for (int64_t i = 0; i < 2 * 5 * 8; ++i) EXPECT_EQ(out[i], 0.0f) << i;  // batch 0 sees no key
  for (int64_t i = 0; i < 2 * 5; ++i) EXPECT_EQ(lse[i], -std::numeric_limits<float>::infinity());
  for (float x : out) EXPECT_TRUE(std::isfinite(x));
  std::vector<float> dout = random_floats(q.size()), dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward(c.s, q.data(), k.data(), v.data(), out.data(), dout.data(), lse.data(), c.mask(), 0.5f,
                     dq.data(), dk.data(), dv.data());
  for (int64_t i = 0; i < 2 * 5 * 8; ++i) EXPECT_EQ(dq[i], 0.0f);
  for (int64_t i = 0; i < 2 * 9 * 8; ++i) EXPECT_EQ(dk[i], 0.0f);
  for (float x : dq) EXPECT_TRUE(std::isfinite(x));
  // Causal with more queries than keys: the first queries see nothing.
  Case d{{1, 1, 6, 3, 4}, {}, true};
  expect_forward_matches(d);
  expect_backward_matches(d);
}

TEST(Attention, BackwardMatchesAnalyticReference) {
  for (int64_t D : {1, 5, 16, 64})
    for (int64_t L : {1, 17, 64, 100})
      for (bool causal : {false, true})
        for (bool padded : {false, true}) {
          Case c = random_case(random_int(1, 2), random_int(1, 3), causal ? L : random_int(1, 80), L, D, padded,
                               causal);
          SCOPED_TRACE(::testing::Message() << "D=" << D << " L=" << L << " causal=" << causal
                                            << " padded=" << padded);
          expect_backward_matches(c);
        }
}

TEST(Attention, BackwardSplitsKeyBlocksAcrossThreadsForOneHead) {
  // One head, many key blocks: the backward splits the head's keys into parts and sums their dQ.
  expect_backward_matches(random_case(1, 1, 150, 300, 24, false, false));
  expect_backward_matches(random_case(1, 1, 200, 200, 32, false, true));
}

TEST(Attention, BackwardMatchesFiniteDifferencesInDouble) {
  // f(q, k, v) = sum(w o attention(q, k, v)) in double; its numeric gradient must equal the kernel's
  // backward with dout = w.
  for (bool causal : {false, true})
    for (float p : {0.0f, 0.4f}) {
      Case c{{1, 2, 5, 7, 3}, {7}, causal};
      if (!causal) c.key_lengths = {5};
      const auto& s = c.s;
      const DropoutDraws drop{p, 11, 5};
      const std::vector<double> factors = dropout_factors(s, drop);
      auto q = random_floats(s.heads * s.len_q * s.head_dim), k = random_floats(s.heads * s.len_k * s.head_dim),
           v = random_floats(s.heads * s.len_k * s.head_dim), w = random_floats(q.size());
      const float scale = 0.7f;
      std::vector<double> all;
      for (auto* part : {&q, &k, &v}) all.insert(all.end(), part->begin(), part->end());
      auto f = [&](const std::vector<double>& x) {
        const auto k_begin = x.begin() + q.size(), v_begin = k_begin + k.size();
        std::vector<double> qd(x.begin(), k_begin), kd(k_begin, v_begin), vd(v_begin, x.end());
        Reference r = reference_forward(c, qd, kd, vd, scale, &factors);
        double sum = 0;
        for (size_t i = 0; i < r.out.size(); ++i) sum += w[i] * r.out[i];
        return sum;
      };
      std::vector<double> g = testing::numeric_gradient(f, all);
      std::vector<float> out(q.size()), lse(s.heads * s.len_q), dq(q.size()), dk(k.size()), dv(v.size());
      const AttentionStrides st = contiguous_strides(s);
      attention_forward_strided(s, q.data(), k.data(), v.data(), st, c.mask(), scale, out.data(), lse.data(), drop);
      attention_backward_strided(s, q.data(), k.data(), v.data(), out.data(), w.data(), lse.data(), st, c.mask(),
                                 scale, dq.data(), dk.data(), dv.data(), drop);
      std::vector<float> got;
      for (auto* part : {&dq, &dk, &dv}) got.insert(got.end(), part->begin(), part->end());
      EXPECT_TRUE(all_close(got, g, 1e-3, 1e-4)) << "causal=" << causal << " p=" << p;
    }
}

TEST(Attention, WeightsRowsSumToOneAndMaskedEntriesAreZero) {
  Case c = random_case(3, 2, 20, 30, 8, true, true);
  c.key_lengths = {30, 11, 0};
  auto q = random_floats(3 * 2 * 20 * 8), k = random_floats(3 * 2 * 30 * 8), v = random_floats(3 * 2 * 30 * 8);
  std::vector<float> out(q.size()), w(3 * 2 * 20 * 30);
  attention_with_weights(c.s, q.data(), k.data(), v.data(), c.mask(), 0.3f, out.data(), w.data());
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 20; ++i) {
        double sum = 0;
        bool any = false;
        for (int64_t j = 0; j < 30; ++j) {
          float x = w[((b * 2 + h) * 20 + i) * 30 + j];
          if (!visible(c, b, i, j)) {
            EXPECT_EQ(x, 0.0f);
          }
          any |= visible(c, b, i, j);
          sum += x;
        }
        EXPECT_NEAR(sum, any ? 1.0 : 0.0, 1e-5);
      }
}

// The fused dropout drops exactly the weights the explicit softmax-then-dropout path drops (dropout_forward over
// the [B, H, Lq, Lk] weights with the same draws), forward and backward, over shapes of several key blocks.
TEST(Attention, DropoutDropsTheWeightsTheExplicitPathDrops) {
  for (int64_t D : {5, 16, 32})
    for (bool causal : {false, true})
      for (bool padded : {false, true}) {
        const int64_t L = random_int(1, 200), Lq = causal ? L : random_int(1, 120);
        Case c = random_case(random_int(1, 2), random_int(1, 3), Lq, L, D, padded, causal);
        const auto& s = c.s;
        const DropoutDraws drop{float(random_int(1, 6)) / 10.0f, uint64_t(random_int(0, 1000)),
                                uint64_t(random_int(0, 1 << 20))};
        SCOPED_TRACE(::testing::Message() << "D=" << D << " Lq=" << Lq << " Lk=" << L << " causal=" << causal
                                          << " padded=" << padded << " p=" << drop.p);
        const std::vector<double> factors = dropout_factors(s, drop);
        auto q = random_floats(s.batch * s.heads * Lq * D), k = random_floats(s.batch * s.heads * L * D);
        auto v = random_floats(k.size()), dout = random_floats(q.size());
        const float scale = 1.0f / std::sqrt(float(D));
        const AttentionStrides st = contiguous_strides(s);
        std::vector<float> out(q.size()), lse(size_t(s.batch * s.heads * Lq));
        attention_forward_strided(s, q.data(), k.data(), v.data(), st, c.mask(), scale, out.data(), lse.data(), drop);
        Reference r = reference_forward(c, q, k, v, scale, &factors);
        EXPECT_TRUE(all_close(out, r.out, 2e-5, 1e-5)) << "out";
        EXPECT_TRUE(all_close(lse, r.lse, 2e-5, 1e-5)) << "lse (the normaliser counts every weight)";
        std::vector<float> dq(q.size(), 7.0f), dk(k.size(), 7.0f), dv(v.size(), 7.0f);
        attention_backward_strided(s, q.data(), k.data(), v.data(), out.data(), dout.data(), lse.data(), st, c.mask(),
                                   scale, dq.data(), dk.data(), dv.data(), drop);
        std::vector<double> rq, rk, rv;
        reference_backward(c, q, k, v, dout, scale, rq, rk, rv, &factors);
        EXPECT_TRUE(all_close(dq, rq, 1e-4, 1e-5)) << "dq";
        EXPECT_TRUE(all_close(dk, rk, 1e-4, 1e-5)) << "dk";
        EXPECT_TRUE(all_close(dv, rv, 1e-4, 1e-5)) << "dv";
      }
}

// The strided backward reads q, k, v, out and dout where they lie and writes dq, dk, dv into the same layout as
// q, k, v: the same numbers as the contiguous backward, gaps untouched.
TEST(Attention, StridedBackwardReadsAndWritesInPlace) {
  for (int64_t D : {3, 16, 17, 32})
    for (bool causal : {false, true})
      for (float p : {0.0f, 0.25f}) {
        const int64_t L = random_int(1, 140), Lq = causal ? L : random_int(1, 100);
        Case c = random_case(random_int(1, 3), random_int(1, 4), Lq, L, D, !causal, causal);
        const auto& s = c.s;
        SCOPED_TRACE(::testing::Message() << "D=" << D << " Lq=" << Lq << " Lk=" << L << " causal=" << causal
                                          << " p=" << p);
        const DropoutDraws drop{p, 3, 100};
        auto q = random_floats(s.batch * s.heads * Lq * D), k = random_floats(s.batch * s.heads * L * D);
        auto v = random_floats(k.size()), dout = random_floats(q.size());
        const float scale = 1.0f / std::sqrt(float(D));
        const AttentionStrides contiguous = contiguous_strides(s);
        std::vector<float> out(q.size()), lse(size_t(s.batch * s.heads * Lq));
        attention_forward_strided(s, q.data(), k.data(), v.data(), contiguous, c.mask(), scale, out.data(),
                                  lse.data(), drop);
        std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
        attention_backward_strided(s, q.data(), k.data(), v.data(), out.data(), dout.data(), lse.data(), contiguous,
                                   c.mask(), scale, dq.data(), dk.data(), dv.data(), drop);

        const int64_t wq = D + random_int(0, 5), wk = D + random_int(0, 5), wv = D + random_int(0, 5);
        const int64_t wo = D + random_int(0, 3);
        const AttentionStrides st{interleaved(s, Lq, wq), interleaved(s, L, wk), interleaved(s, L, wv),
                                  interleaved(s, Lq, wo)};
        auto qs = scatter_heads(s, Lq, wq, q, 1e30f), ks = scatter_heads(s, L, wk, k, 1e30f);
        auto vs = scatter_heads(s, L, wv, v, 1e30f), outs = scatter_heads(s, Lq, wo, out, 1e30f);
        auto douts = scatter_heads(s, Lq, wo, dout, 1e30f);
        std::vector<float> dqs(qs.size(), -7.0f), dks(ks.size(), -7.0f), dvs(vs.size(), -7.0f);
        attention_backward_strided(s, qs.data(), ks.data(), vs.data(), outs.data(), douts.data(), lse.data(), st,
                                   c.mask(), scale, dqs.data(), dks.data(), dvs.data(), drop);
        EXPECT_EQ(dqs, scatter_heads(s, Lq, wq, dq, -7.0f));
        EXPECT_EQ(dks, scatter_heads(s, L, wk, dk, -7.0f));
        EXPECT_EQ(dvs, scatter_heads(s, L, wv, dv, -7.0f));
      }
}

TEST(Attention, BadArgumentsThrowNamingTheOpAndShape) {
  std::vector<float> buf(1024);
  std::vector<float> lse(64);
  auto expect_error = [&](AttentionShape s, AttentionMask m, float scale, const std::string& needle) {
    try {
      attention_forward(s, buf.data(), buf.data(), buf.data(), m, scale, buf.data(), lse.data());
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("attention_forward"), std::string::npos) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
  };
  expect_error({1, 1, 0, 4, 4}, {}, 1.0f, "[1, 1, 0, 4, 4]");
  expect_error({1, 0, 2, 4, 4}, {}, 1.0f, "[1, 0, 2, 4, 4]");
  int32_t too_long[] = {5};
  expect_error({1, 1, 2, 4, 4}, {too_long, false}, 1.0f, "key length 5");
  int32_t negative[] = {-1};
  expect_error({1, 1, 2, 4, 4}, {negative, false}, 1.0f, "key length -1");
  expect_error({1, 1, 2, 4, 4}, {}, std::nanf(""), "scale");
  AttentionShape s{1, 1, 2, 2, 4};
  AttentionStrides narrow = contiguous_strides(s);
  narrow.v.row = 3;  // rows would overlap
  EXPECT_THROW(attention_forward_strided(s, buf.data(), buf.data(), buf.data(), narrow, {}, 1.0f, buf.data(), nullptr),
               Error);
  for (float p : {1.0f, -0.1f, std::nanf("")}) {
    EXPECT_THROW(attention_forward_strided(s, buf.data(), buf.data(), buf.data(), contiguous_strides(s), {}, 1.0f,
                                           buf.data(), nullptr, {p, 0, 0}),
                 Error)
        << p;
  }
}

}  // namespace
}  // namespace attn::kernels
