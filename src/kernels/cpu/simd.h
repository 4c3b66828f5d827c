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

// 2^x, relative error < 2e-7 over the float range; 0 for x < -126 (so exp2(-inf) is exactly 0), +inf past 128.
inline Vec exp2(Vec x) {
  const Vec lo = Vec::set1(-126.0f);
  Vec xc = min(Vec::set1(128.0f), max(lo, x));  // operand order keeps NaN a NaN
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
  // n = 128 overflows pow2i; split it as 2^(n-1) * 2.
  Vec big = select_greater(n, Vec::set1(127.0f), Vec::set1(2.0f), Vec::set1(1.0f));
  Vec scale = pow2i(n - (big - Vec::set1(1.0f)));
  return zero_where_less(p * scale * big, x, lo);
}

constexpr float kLog2e = 1.4426950408889634f;

// e^x via 2^(x log2 e). exp(-inf) = 0, exp(x > 88.7) = +inf.
inline Vec exp(Vec x) { return exp2(x * Vec::set1(kLog2e)); }

}  // namespace attn::kernels::cpu
