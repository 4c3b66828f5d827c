#include "attn/kernels/attention_masking.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;

// y[0, n) = softmax(x[0, n)), n >= 1. A NaN makes the row NaN (as kernels::softmax_forward); all -inf gives 0.
void softmax_row(const float* x, int64_t n, float* y) {
  float mx = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int64_t t = 0; t < n; ++t) {
    nan |= std::isnan(x[t]);
    mx = std::max(mx, x[t]);
  }
  if (nan) {
    std::fill(y, y + n, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  if (mx == -std::numeric_limits<float>::infinity()) {  // every visible score is -inf: nothing to attend to
    std::fill(y, y + n, 0.0f);
    return;
  }
  const Vec vmax = Vec::set1(mx);
  Vec acc = Vec::zero();
  int64_t t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    Vec e = cpu::exp_no_overflow(Vec::load(x + t) - vmax);
    e.store(y + t);
    acc = acc + e;
  }
  if (t < n) {
    const int m = static_cast<int>(n - t);
    // The fill of -inf makes the padding lanes exp(-inf) = 0.
    Vec e = cpu::exp_no_overflow(Vec::load_partial(x + t, m, -std::numeric_limits<float>::infinity()) - vmax);
    e.store_partial(y + t, m);
    acc = acc + e;
  }
  const float inv = 1.0f / acc.reduce_add();
  for (t = 0; t < n; ++t) y[t] *= inv;
}

}  // namespace

void check_score_args(const char* op, const AttentionShape& s, const AttentionMask& mask) {
  ATTN_CHECK(s.batch > 0 && s.heads > 0 && s.len_q > 0 && s.len_k > 0,
             "{}: every dimension must be positive, got [batch, heads, len_q, len_k] = [{}, {}, {}, {}]", op, s.batch,
             s.heads, s.len_q, s.len_k);
  if (mask.key_lengths) {
    for (int64_t b = 0; b < s.batch; ++b) {
      ATTN_CHECK(mask.key_lengths[b] >= 0 && mask.key_lengths[b] <= s.len_k,
                 "{}: key length {} of batch element {} is outside [0, {}] (len_k)", op, mask.key_lengths[b], b,
                 s.len_k);
    }
  }
}

void masked_softmax_forward(const AttentionShape& s, const float* scores, const AttentionMask& mask, float* weights) {
  check_score_args("masked_softmax_forward", s, mask);
  const int64_t rows = s.batch * s.heads * s.len_q, n = s.len_k;
  cpu::parallel_for(rows, n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (s.heads * s.len_q), i = r % s.len_q;
      const int64_t visible = visible_keys(mask, b, i, s.len_q, s.len_k);
      const float* x = scores + r * n;
      float* y = weights + r * n;
      if (visible > 0) softmax_row(x, visible, y);
      std::fill(y + visible, y + n, 0.0f);
    }
  });
}

void top_k_weights_forward(const AttentionShape& s, const float* scores, const AttentionMask& mask, int64_t k,
                           bool renormalise, float* weights) {
  check_score_args("top_k_weights_forward", s, mask);
  ATTN_CHECK(k >= 1, "top_k_weights_forward: k must be at least 1, got {}", k);
  const int64_t rows = s.batch * s.heads * s.len_q, n = s.len_k;
  cpu::parallel_for(rows, n, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::vector<float> picked(static_cast<size_t>(n)), picked_w(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (s.heads * s.len_q), i = r % s.len_q;
      const int64_t visible = visible_keys(mask, b, i, s.len_q, s.len_k);
      const float* x = scores + r * n;
      float* y = weights + r * n;
      std::fill(y, y + n, 0.0f);
      if (visible == 0) continue;
      if (std::any_of(x, x + visible, [](float v) { return std::isnan(v); })) {
        std::fill(y, y + n, std::numeric_limits<float>::quiet_NaN());
        continue;
      }
      const int64_t kk = std::min(k, visible);
      std::iota(order.begin(), order.begin() + visible, int64_t{0});
      // Higher score first, lower index on ties: a strict weak order once NaN is excluded.
      std::partial_sort(order.begin(), order.begin() + kk, order.begin() + visible,
                        [x](int64_t a, int64_t c) { return x[a] > x[c] || (x[a] == x[c] && a < c); });
      if (!renormalise) {
        for (int64_t t = 0; t < kk; ++t) y[order[size_t(t)]] = 1.0f / float(kk);
        continue;
      }
      for (int64_t t = 0; t < kk; ++t) picked[size_t(t)] = x[order[size_t(t)]];
      softmax_row(picked.data(), kk, picked_w.data());
      for (int64_t t = 0; t < kk; ++t) y[order[size_t(t)]] = picked_w[size_t(t)];
    }
  });
}

}  // namespace attn::kernels
