// A thin float-vector type over AVX-512 (16 lanes) or AVX2 (8 lanes), chosen at compile time (-march=native).
// Kernels are written once against Vec and vectorise on either ISA. Partial loads/stores handle row tails so
// no kernel needs a scalar remainder loop.
#pragma once
// GCC 12's AVX-512 intrinsics pass an "undefined" register that -W(maybe-)uninitialized reports at every inlined
// use (GCC bug 105593, fixed in GCC 13); the warning is placed in the header, so silencing it there is enough.
// Every other file takes the intrinsics through this one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

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
inline Vec zero_where_less(Vec x, Vec a, Vec b) {
  return _mm256_andnot_ps(_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ), x.v);
}
inline Vec select_greater(Vec a, Vec b, Vec t, Vec f) {
  return _mm256_blendv_ps(f.v, t.v, _mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ));
}

#else
#error "attn's CPU kernels need AVX2+FMA or AVX-512 (configure with -DATTN_NATIVE=ON on such a CPU)"
#endif

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

// ---- Row helpers ----------------------------------------------------------------------------------------------
namespace attn::kernels::cpu {
// Loads cnt (1..kLanes) floats; missing lanes get `fill`. The full case folds away when cnt is kLanes.
inline Vec load_n(const float* p, int cnt, float fill = 0.0f) {
  return cnt == kLanes ? Vec::load(p) : Vec::load_partial(p, cnt, fill);
}
inline void store_n(float* p, Vec v, int cnt) {
  if (cnt == kLanes) {
    v.store(p);
  } else {
    v.store_partial(p, cnt);
  }
}

// out[i] = f(i, cnt) for vectors of cnt lanes at i. Streaming stores need an aligned address, so the row's
// unaligned head goes through an ordinary masked store.
template <bool kStream, class F>
inline void write_row(float* out, int64_t n, F&& f) {
  int64_t i = 0;
  if constexpr (kStream) {
    const int64_t head = n < floats_to_alignment(out) ? n : floats_to_alignment(out);
    if (head > 0) f(0, int(head)).store_partial(out, int(head));
    i = head;
    for (; i + kLanes <= n; i += kLanes) stream(out + i, f(i, kLanes));
  } else {
    for (; i + kLanes <= n; i += kLanes) f(i, kLanes).store(out + i);
  }
  if (i < n) f(i, int(n - i)).store_partial(out + i, int(n - i));
}
}  // namespace attn::kernels::cpu

// ---- Sign bits ------------------------------------------------------------------------------------------------
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
}  // namespace attn::kernels::cpu

// ---- Exponent construction -----------------------------------------------------------------------------------
namespace attn::kernels::cpu {
// The float whose bit pattern is bits(k) << 23: with k = t + (1.5 * 2^23 + 127) for integral t in [-127, 128],
// the low bits of k hold t + 127, and the result is 2^t (+0.0 at t = -127).
#if defined(__AVX512F__)
inline Vec shift_to_exponent(Vec k) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(k.v), 23)); }
#else
inline Vec shift_to_exponent(Vec k) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(k.v), 23)); }
#endif
}  // namespace attn::kernels::cpu

