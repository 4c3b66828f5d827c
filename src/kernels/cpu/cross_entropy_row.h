// One row of cross-entropy over class logits, shared by the plain kernel (cross_entropy.cpp) and the one fused
// with the output projection (linear_cross_entropy.cpp): the loss with its log-sum-exp, and the gradient row.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels::cpu {

inline constexpr float kInf = std::numeric_limits<float>::infinity();

// max(x) and, when kSum, sum(x): one pass over memory.
template <bool kSum>
inline void row_max_sum(const float* x, int64_t n, float* max_out, float* sum_out) {
  Vec m0 = Vec::set1(-kInf), m1 = m0, m2 = m0, m3 = m0;
  Vec s0 = Vec::zero(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    const Vec a = Vec::load(x + i), b = Vec::load(x + i + kLanes);
    const Vec c = Vec::load(x + i + 2 * kLanes), d = Vec::load(x + i + 3 * kLanes);
    m0 = max(m0, a), m1 = max(m1, b), m2 = max(m2, c), m3 = max(m3, d);
    if constexpr (kSum) s0 = s0 + a, s1 = s1 + b, s2 = s2 + c, s3 = s3 + d;
  }
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    m0 = max(m0, load_n(x + i, cnt, -kInf));
    if constexpr (kSum) s0 = s0 + load_n(x + i, cnt);
  }
  *max_out = max(max(m0, m1), max(m2, m3)).reduce_max();
  if constexpr (kSum) *sum_out = ((s0 + s1) + (s2 + s3)).reduce_add();
}

// sum(exp(x - m)) over a row already in cache. Meanwhile it prefetches pf[0, n), the next row, so memory keeps
// streaming while the core computes exponentials (the first pass of the next row then reads from cache).
inline float row_sum_exp(const float* x, int64_t n, float m, const float* pf) {
  constexpr int kLineFloats = 16;
  auto prefetch = [](const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); };
  const Vec vm = Vec::set1(m);
  Vec s0 = Vec::zero(), s1 = Vec::zero();
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    for (int l = 0; l < 2 * kLanes; l += kLineFloats) prefetch(pf + i + l);
    s0 = s0 + cpu::exp_no_overflow(Vec::load(x + i) - vm);
    s1 = s1 + cpu::exp_no_overflow(Vec::load(x + i + kLanes) - vm);
  }
  for (int64_t j = i; j < n; j += kLineFloats) prefetch(pf + j);
  for (; i < n; i += kLanes) {
    const int cnt = int(std::min<int64_t>(kLanes, n - i));
    s0 = s0 + cpu::exp_no_overflow(load_n(x + i, cnt, -kInf) - vm);
  }
  return (s0 + s1).reduce_add();
}

// Loss of one row (double: the mean adds up thousands of them). Writes the row's log-sum-exp.
template <bool kSmooth>
inline double row_loss(const float* x, int64_t classes, int32_t target, bool counted, float eps, float* lse) {
  float m = 0.0f, sum_x = 0.0f;
  row_max_sum<kSmooth>(x, classes, &m, &sum_x);
  // An all -inf row: shift by 0 so exp gives 0 rather than NaN; its lse is log 0 = -inf.
  const float shift = m == -kInf ? 0.0f : m;
  const float s = row_sum_exp(x, classes, shift, x + classes);
  // In double: with logits near 1e4 a float lse has lost the digits that lse - x[t] keeps.
  const double l = s == 0.0f ? -double(kInf) : double(shift) + std::log(double(s));
  *lse = float(l);
  if (!counted) return 0.0;
  double loss = l - double(x[target]);
  if constexpr (kSmooth) loss = (1.0 - eps) * loss + eps * (l - double(sum_x) / double(classes));
  return loss;
}

// dlogits row = g * exp(x - lse) - g*eps/C, minus g*(1-eps) at the target.
template <bool kStream>
inline void row_grad(const float* x, float* d, int64_t classes, int32_t target, float lse, float g, float eps) {
  const Vec vl = Vec::set1(lse), vg = Vec::set1(g), voff = Vec::set1(-g * eps / float(classes));
  const float hit = g * (1.0f - eps);
  write_row<kStream>(d, classes, [&](int64_t i, int cnt) {
    Vec v = fma(cpu::exp_no_overflow(load_n(x + i, cnt) - vl), vg, voff);  // x - lse <= 0 but for rounding
    if (target >= i && target < i + cnt) {  // once per row: patch the target's lane through memory
      alignas(64) float a[kLanes];
      v.store(a);
      a[target - i] -= hit;
      v = Vec::load(a);
    }
    return v;
  });
}

}  // namespace attn::kernels::cpu
