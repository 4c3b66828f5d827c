// Vector elementary functions on Vec: exp / exp2, tanh, sigmoid, erfc and the normal CDF. Relative error a few
// 1e-7 (growing like that of exp for large |x|), exact limits at +-inf, NaN passed through, so kernels need no
// scalar fallback.
#pragma once
#include "kernels/cpu/simd.h"

namespace attn::kernels::cpu {

constexpr float kLog2e = 1.4426950408889634f;

// 2^t for t in [-127, 128] (or NaN): rounds by the 1.5 * 2^23 shifter and evaluates a degree-5 minimax
// polynomial for 2^r on [-0.5, 0.5] (relative error 2.3e-7).
inline Vec exp2_clamped(Vec t) {
  const Vec shifter = Vec::set1(12582912.0f + 127.0f);  // 1.5 * 2^23, plus the exponent bias
  const Vec k = t + shifter;
  const Vec r = t - (k - shifter);  // t - round(t), in [-0.5, 0.5]
  // Horner, not Estrin: the FMA ports, not the dependency chain, are the limit in the kernels that use it.
  Vec p = Vec::set1(1.327640377e-03f);
  p = fma(p, r, Vec::set1(9.675525129e-03f));
  p = fma(p, r, Vec::set1(5.550713465e-02f));
  p = fma(p, r, Vec::set1(2.402212024e-01f));
  p = fma(p, r, Vec::set1(6.931469440e-01f));
  p = fma(p, r, Vec::set1(1.000000119e+00f));
  return p * shift_to_exponent(k);
}

// 2^x: exactly 0 for x <= -127 (so exp2(-inf) = 0; results below 2^-126.5 flush to 0), +inf from 128 on, NaN
// stays NaN.
inline Vec exp2(Vec x) {
  return exp2_clamped(min(Vec::set1(128.0f), max(Vec::set1(-127.0f), x)));  // operand order keeps NaN a NaN
}

// exp2 and exp for arguments known to stay below the overflow point (softmax's x - max <= 0, scores minus their
// log-sum-exp): one clamp fewer, which the short rows of softmax and attention notice.
inline Vec exp2_no_overflow(Vec x) { return exp2_clamped(max(Vec::set1(-127.0f), x)); }
inline Vec exp_no_overflow(Vec x) { return exp2_no_overflow(x * Vec::set1(kLog2e)); }

// e^x = 2^(x log2 e): exp(-inf) = 0, exp(x >= 88.7) = +inf.
inline Vec exp(Vec x) { return exp2(x * Vec::set1(kLog2e)); }

// tanh: for |x| < 0.625 an odd polynomial (near-minimax fit of tanh(x)/x in x^2, relative error 4e-9) so tiny x
// keep full relative precision; above, 1 - 2/(e^2|x| + 1), where e^2|x| = inf gives exactly 1.
inline Vec tanh(Vec x) {
  Vec ax = abs(x);
  Vec s = x * x;
  Vec p = Vec::set1(-0.0056571351843803915f);
  p = fma(p, s, Vec::set1(0.020588191454586372f));
  p = fma(p, s, Vec::set1(-0.053720107656628939f));
  p = fma(p, s, Vec::set1(0.13331114055689769f));
  p = fma(p, s, Vec::set1(-0.33333259862947528f));
  p = fma(p, s, Vec::set1(1.0f));
  Vec small = x * p;
  Vec big = Vec::set1(1.0f) - Vec::set1(2.0f) / (exp(ax + ax) + Vec::set1(1.0f));
  // NaN fails the compare and takes `small`, which is NaN.
  return select_greater(ax, Vec::set1(0.625f), copysign(big, x), small);
}

// 1 / (1 + e^-x): 0 at -inf (e^inf = inf), 1 at +inf.
inline Vec sigmoid(Vec x) { return Vec::set1(1.0f) / (Vec::set1(1.0f) + exp(Vec::zero() - x)); }

// erfc(z) for z >= 0 given e = -z^2: the Chebyshev fit of Numerical Recipes (erfcc, fractional error < 1.2e-7
// everywhere), so the tail keeps its relative precision. Taking -z^2 apart lets normal_cdf form it from x
// without rounding x / sqrt(2) first.
inline Vec erfc_nonnegative(Vec z, Vec minus_z2) {
  Vec t = Vec::set1(1.0f) / fma(Vec::set1(0.5f), z, Vec::set1(1.0f));
  Vec p = Vec::set1(0.17087277f);
  p = fma(p, t, Vec::set1(-0.82215223f));
  p = fma(p, t, Vec::set1(1.48851587f));
  p = fma(p, t, Vec::set1(-1.13520398f));
  p = fma(p, t, Vec::set1(0.27886807f));
  p = fma(p, t, Vec::set1(-0.18628806f));
  p = fma(p, t, Vec::set1(0.09678418f));
  p = fma(p, t, Vec::set1(0.37409196f));
  p = fma(p, t, Vec::set1(1.00002368f));
  p = fma(p, t, Vec::set1(-1.26551223f));
  return t * exp(p + minus_z2);
}

// erfc(x), with erfc(-x) = 2 - erfc(x).
inline Vec erfc(Vec x) {
  Vec z = abs(x);
  Vec r = erfc_nonnegative(z, Vec::zero() - z * z);
  return select_greater(Vec::zero(), x, Vec::set1(2.0f) - r, r);
}

// The standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2: relative precision in the left tail too.
inline Vec normal_cdf(Vec x) {
  Vec r = Vec::set1(0.5f) * erfc_nonnegative(abs(x) * Vec::set1(0.70710678118654752f), Vec::set1(-0.5f) * x * x);
  return select_greater(Vec::zero(), x, r, Vec::set1(1.0f) - r);
}

}  // namespace attn::kernels::cpu
