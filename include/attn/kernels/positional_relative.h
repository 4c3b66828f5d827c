// Clipped relative positions (Shaw et al. 2018) between query i and key j: r = clamp(j - (i + q_offset), -K, K),
// bucket r + K of 2K + 1. gather spreads per-bucket values over the [len_q, len_k] grid; scatter sums a grid back
// into buckets. Each is the other's adjoint (and so its backward).
#pragma once
#include <cstdint>

namespace attn::kernels {

// out[r, i, j] = in[r, i, bucket(i, j)]
// in [rows, len_q, 2K+1], out [rows, len_q, len_k]
void relative_gather(int64_t rows, int64_t len_q, int64_t len_k, int64_t max_distance, int64_t q_offset,
                     const float* in, float* out);

// out[r, i, b] = sum over j with bucket(i, j) == b of in[r, i, j]
// in [rows, len_q, len_k], out [rows, len_q, 2K+1] (overwritten)
void relative_scatter(int64_t rows, int64_t len_q, int64_t len_k, int64_t max_distance, int64_t q_offset,
                      const float* in, float* out);

}  // namespace attn::kernels
