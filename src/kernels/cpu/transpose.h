// Transposing copies for packing operands: 8 x 8 blocks transposed in registers.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/simd.h"

namespace attn::kernels::cpu {

// dst[0..8)[0..8) = transpose of src[0..8)[0..8) (row strides lds, ldd), in registers.
[[gnu::always_inline]] inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// dst[d][j] = src[j][d] for rows j < n_valid of src (row stride lds), 0 for n_valid <= j < n_cols; d < dim.
// dst is [dim, ld].
inline void pack_transposed(const float* src, int64_t lds, int64_t n_valid, int64_t n_cols, int64_t dim, float* dst,
                            int64_t ld) {
  for (int64_t d = 0; d < dim; ++d) std::fill(dst + d * ld + n_valid, dst + d * ld + n_cols, 0.0f);
  const int64_t j8 = n_valid / 8 * 8, d8 = dim / 8 * 8;
  for (int64_t j = 0; j < j8; j += 8) {
    for (int64_t d = 0; d < d8; d += 8) transpose8x8(src + j * lds + d, lds, dst + d * ld + j, ld);
    for (int64_t d = d8; d < dim; ++d)
      for (int64_t jj = j; jj < j + 8; ++jj) dst[d * ld + jj] = src[jj * lds + d];
  }
  for (int64_t j = j8; j < n_valid; ++j)
    for (int64_t d = 0; d < dim; ++d) dst[d * ld + j] = src[j * lds + d];
}

}  // namespace attn::kernels::cpu
