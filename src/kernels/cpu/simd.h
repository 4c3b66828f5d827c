// A thin float-vector type over AVX-512 (16 lanes) or AVX2 (8 lanes), chosen at compile time (-march=native).
// Kernels are written once against Vec and vectorise on either ISA. Partial loads/stores handle row tails so
// no kernel needs a scalar remainder loop.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace attn::kernels::cpu {

#if defined(__AVX512F__)
constexpr int kLanes = 16;

struct Vec {
  __m512 v;
  Vec() = default;
  Vec(__m512 x) : v(x) {}
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float x) { return _mm512_set1_ps(x); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  // Loads lanes [0, n) and fills the rest with `fill`.
  static Vec load_partial(const float* p, int n, float fill = 0.0f) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask(n), p);
  }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  void store_partial(float* p, int n) const { _mm512_mask_storeu_ps(p, mask(n), v); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((n >= 16) ? 0xFFFF : ((1u << n) - 1u)); }
  float reduce_add() const { return _mm512_reduce_add_ps(v); }
  float reduce_max() const { return _mm512_reduce_max_ps(v); }
};

inline Vec operator+(Vec a, Vec b) { return _mm512_add_ps(a.v, b.v); }
inline Vec operator-(Vec a, Vec b) { return _mm512_sub_ps(a.v, b.v); }
inline Vec operator*(Vec a, Vec b) { return _mm512_mul_ps(a.v, b.v); }
inline Vec operator/(Vec a, Vec b) { return _mm512_div_ps(a.v, b.v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }    // a*b + c
inline Vec fnma(Vec a, Vec b, Vec c) { return _mm512_fnmadd_ps(a.v, b.v, c.v); }  // c - a*b
inline Vec max(Vec a, Vec b) { return _mm512_max_ps(a.v, b.v); }
inline Vec min(Vec a, Vec b) { return _mm512_min_ps(a.v, b.v); }
inline Vec round_nearest(Vec a) { return _mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// 2^n for integral-valued n in [-126, 127].
inline Vec pow2i(Vec n) {
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n.v), _mm512_set1_epi32(127)), 23);
  return _mm512_castsi512_ps(e);
}
// Lanes where a < b become zero.
inline Vec zero_where_less(Vec x, Vec a, Vec b) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_NLT_UQ), x.v);
}
// Lanes where c is true (mask from a > b) take `t`, else `f`.
inline Vec select_greater(Vec a, Vec b, Vec t, Vec f) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ), f.v, t.v);
}

#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kLanes = 8;

struct Vec {
  __m256 v;
  Vec() = default;
  Vec(__m256 x) : v(x) {}
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float x) { return _mm256_set1_ps(x); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Vec load_partial(const float* p, int n, float fill = 0.0f) {
    __m256i m = mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
  void store_partial(float* p, int n) const { _mm256_maskstore_ps(p, mask(n), v); }
  float reduce_add() const {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  float reduce_max() const {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

inline Vec operator+(Vec a, Vec b) { return _mm256_add_ps(a.v, b.v); }
inline Vec operator-(Vec a, Vec b) { return _mm256_sub_ps(a.v, b.v); }
inline Vec operator*(Vec a, Vec b) { return _mm256_mul_ps(a.v, b.v); }
inline Vec operator/(Vec a, Vec b) { return _mm256_div_ps(a.v, b.v); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
inline Vec fnma(Vec a, Vec b, Vec c) { return _mm256_fnmadd_ps(a.v, b.v, c.v); }
inline Vec max(Vec a, Vec b) { return _mm256_max_ps(a.v, b.v); }
inline Vec min(Vec a, Vec b) { return _mm256_min_ps(a.v, b.v); }
inline Vec round_nearest(Vec a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline Vec pow2i(Vec n) {
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127)), 23);
  return _mm256_castsi256_ps(e);
}
inline Vec zero_where_less(Vec x, Vec a, Vec b) {
  return _mm256_andnot_ps(_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ), x.v);
}
inline Vec select_greater(Vec a, Vec b, Vec t, Vec f) {
  return _mm256_blendv_ps(f.v, t.v, _mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ));
}

#else
#error "attn's CPU kernels need AVX2+FMA or AVX-512 (configure with -DATTN_NATIVE=ON on such a CPU)"
#endif

// 2^x for x <= 127 (callers guarantee the bound; the softmax kernels subtract a running max first), relative
// error < 2e-7; 0 for x < -126, so exp2(-inf) is exactly 0. NaN stays NaN.
inline Vec exp2_bounded(Vec x) {
  const Vec lo = Vec::set1(-126.0f);
  Vec xc = max(lo, x);  // operand order keeps NaN a NaN
  Vec n = round_nearest(xc);
  Vec r = xc - n;  // r in [-0.5, 0.5]
  // Degree-6 Taylor polynomial of 2^r = e^(r ln 2); truncation error < 1.3e-7 on [-0.5, 0.5].
  Vec p = Vec::set1(1.5403530393381606e-4f);
  p = fma(p, r, Vec::set1(1.3333558146428443e-3f));
  p = fma(p, r, Vec::set1(9.6181291076284772e-3f));
  p = fma(p, r, Vec::set1(5.5504108664821580e-2f));
  p = fma(p, r, Vec::set1(2.4022650695910071e-1f));
  p = fma(p, r, Vec::set1(6.9314718055994531e-1f));
  p = fma(p, r, Vec::set1(1.0f));
  return zero_where_less(p * pow2i(n), x, lo);
}

// 2^x over the whole float range: +inf past 128.
inline Vec exp2(Vec x) {
  // 2^x = 2^(x/2)^2 would lose accuracy; instead split off one factor of 2 where x > 127.
  Vec big = select_greater(x, Vec::set1(127.0f), Vec::set1(2.0f), Vec::set1(1.0f));
  Vec xc = min(Vec::set1(128.0f), x) - (big - Vec::set1(1.0f));
  return exp2_bounded(xc) * big;
}

constexpr float kLog2e = 1.4426950408889634f;

// e^x via 2^(x log2 e). exp(-inf) = 0, exp(x > 88.7) = +inf.
inline Vec exp(Vec x) { return exp2(x * Vec::set1(kLog2e)); }

}  // namespace attn::kernels::cpu

// ---- Streaming (non-temporal) stores -------------------------------------------------------------------------
// For outputs much larger than the last-level cache: the line goes straight to memory without first being read
// (no read-for-ownership), which saves a third of the traffic of a read-one-write-one kernel. p must be aligned to
// kLanes * 4 bytes. Call stream_fence() after the last streaming store of a thread, before others read the data.
namespace attn::kernels::cpu {
#if defined(__AVX512F__)
inline void stream(float* p, Vec v) { _mm512_stream_ps(p, v.v); }
#else
inline void stream(float* p, Vec v) { _mm256_stream_ps(p, v.v); }
#endif
inline void stream_fence() { _mm_sfence(); }
// Floats from p to the next kLanes * 4-byte boundary (0 when already aligned); p must be 4-byte aligned.
inline int64_t floats_to_alignment(const float* p) {
  return static_cast<int64_t>((-reinterpret_cast<uintptr_t>(p) & (kLanes * sizeof(float) - 1)) / sizeof(float));
}
}  // namespace attn::kernels::cpu

// ---- Sign bits and vector tanh / sigmoid / erfc ---------------------------------------------------------------
// Relative error a few 1e-7 (growing like that of exp for large |x|), exact limits at +-inf and NaN passed
// through, so activations need no scalar fallback.
namespace attn::kernels::cpu {
#if defined(__AVX512F__)
// Integer forms: _mm512_and_ps and friends need AVX512DQ, the integer ones only AVX512F.
inline Vec abs(Vec a) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(0x7FFFFFFF)));
}
// |mag| with the sign bit of sgn.
inline Vec copysign(Vec mag, Vec sgn) {
  __m512i s = _mm512_and_si512(_mm512_castps_si512(sgn.v), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(abs(mag).v), s));
}
#else
inline Vec abs(Vec a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v); }
inline Vec copysign(Vec mag, Vec sgn) {
  return _mm256_or_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), mag.v), _mm256_and_ps(_mm256_set1_ps(-0.0f), sgn.v));
}
#endif

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

// ---- Loop drivers for element-wise and row-wise kernels --------------------------------------------------------
// Work is cut into chunks whose boundaries depend only on the sizes, never on the thread count, so a kernel
// that keeps one partial sum per chunk gives the same bits on any number of threads.
namespace attn::kernels::cpu {
// Below this many elements of work a kernel stays on the calling thread: waking the team costs more.
constexpr int64_t kParallelWork = int64_t{1} << 15;
// Elements of work per chunk (a multiple of kLanes, so element chunks start on whole vectors).
constexpr int64_t kChunkWork = int64_t{1} << 14;

struct Chunks {
  int64_t count = 0;  // number of chunks
  int64_t size = 0;   // items per chunk (the last may hold fewer)
};

// Chunks of n items of `work` elements each: one chunk when the total is too small to split.
inline Chunks make_chunks(int64_t n, int64_t work) {
  if (n <= 0) return {0, 0};
  if (work < 1) work = 1;
  if (n * work < kParallelWork) return {1, n};
  int64_t size = kChunkWork / work > 1 ? kChunkWork / work : 1;
  return {(n + size - 1) / size, size};
}

// f(chunk, begin, end) for each chunk of make_chunks(n, work), across the OpenMP threads when there are several.
// f must not throw: check arguments before.
template <class F>
inline void parallel_chunks(int64_t n, int64_t work, F&& f) {
  const Chunks c = make_chunks(n, work);
  if (c.count == 1) {
    f(int64_t{0}, int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < c.count; ++i) f(i, i * c.size, (i + 1) * c.size < n ? (i + 1) * c.size : n);
}

// f(begin, end) over [0, n) items of `work` elements each.
template <class F>
inline void parallel_for(int64_t n, int64_t work, F&& f) {
  parallel_chunks(n, work, [&](int64_t, int64_t begin, int64_t end) { f(begin, end); });
}

// out[i] = f(a[i]) over n floats, vectorised; out may alias a.
template <class F>
inline void map(int64_t n, const float* a, float* out, F f) {
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) f(Vec::load(a + i)).store(out + i);
    if (i < end) f(Vec::load_partial(a + i, static_cast<int>(end - i))).store_partial(out + i, static_cast<int>(end - i));
  });
}

// out[i] = f(a[i], b[i]); out may alias a or b.
template <class F>
inline void map2(int64_t n, const float* a, const float* b, float* out, F f) {
  parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) f(Vec::load(a + i), Vec::load(b + i)).store(out + i);
    if (i < end) {
      const int m = static_cast<int>(end - i);
      f(Vec::load_partial(a + i, m), Vec::load_partial(b + i, m)).store_partial(out + i, m);
    }
  });
}
}  // namespace attn::kernels::cpu

// ---- Exponent construction -----------------------------------------------------------------------------------
namespace attn::kernels::cpu {
// The float whose bit pattern is bits(k) << 23: with k = t + (1.5 * 2^23 + 127) for integral t in [-127, 128],
// the low bits of k hold t + 127, and the result is 2^t (+0.0 at t = -127). The shifter form of pow2i.
#if defined(__AVX512F__)
inline Vec shift_to_exponent(Vec k) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(k.v), 23)); }
#else
inline Vec shift_to_exponent(Vec k) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(k.v), 23)); }
#endif
}  // namespace attn::kernels::cpu

// ---- exp for softmax-like kernels ----------------------------------------------------------------------------
namespace attn::kernels::cpu {
// e^d for d <= 0 (d = x - max: softmax, log-sum-exp), NaN stays NaN, exp(-inf) = 0. Leaner than exp(), as it
// bounds those kernels on a core: no overflow handling, a degree-5 minimax polynomial (relative error 2.3e-7 in
// float) and rounding by the 1.5*2^23 shifter. t is clamped at -127, where the exponent field is 0 and the result
// +0.0, so results below 2^-126.5 flush to 0. Also right for small d > 0 (rounding in x - lse), up to d < 88.
inline Vec exp_nonpos(Vec d) {
  const Vec shifter = Vec::set1(12582912.0f + 127.0f);         // 1.5 * 2^23, plus the exponent bias
  const Vec t = max(Vec::set1(-127.0f), d * Vec::set1(kLog2e));  // operand order keeps NaN a NaN
  const Vec k = t + shifter;
  const Vec r = t - (k - shifter);  // t - round(t), in [-0.5, 0.5]
  // Horner, not Estrin: the FMA ports, not the dependency chain, are the limit here.
  Vec p = Vec::set1(1.327640377e-03f);
  p = fma(p, r, Vec::set1(9.675525129e-03f));
  p = fma(p, r, Vec::set1(5.550713465e-02f));
  p = fma(p, r, Vec::set1(2.402212024e-01f));
  p = fma(p, r, Vec::set1(6.931469440e-01f));
  p = fma(p, r, Vec::set1(1.000000119e+00f));
  return p * shift_to_exponent(k);
}
}  // namespace attn::kernels::cpu
