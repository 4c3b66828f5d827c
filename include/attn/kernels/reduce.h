// Reductions over the middle axis of a contiguous [outer, n, inner] array (any axis of a row-major tensor can be
// viewed this way), their backward, and the sum of all elements. Sums accumulate in float within blocks and in
// double across them, and chunking depends only on the sizes, so results are the same on any thread count.
#pragma once
#include <cstdint>

namespace attn::kernels {

// out [outer, inner] = sum over n of x [outer, n, inner]; mean divides by n.
void reduce_sum(int64_t outer, int64_t n, int64_t inner, const float* x, float* out);
void reduce_mean(int64_t outer, int64_t n, int64_t inner, const float* x, float* out);
// dx [outer, n, inner] (overwritten) = dout [outer, inner] broadcast over n (divided by n for the mean).
void reduce_sum_backward(int64_t outer, int64_t n, int64_t inner, const float* dout, float* dx);
void reduce_mean_backward(int64_t outer, int64_t n, int64_t inner, const float* dout, float* dx);

// out [outer, inner] = max over n; argmax [outer, inner] its index in [0, n), the first one on ties. As in
// PyTorch, a NaN is the maximum (the first NaN's index is reported). argmax may be null.
void reduce_max(int64_t outer, int64_t n, int64_t inner, const float* x, float* out, int64_t* argmax);
// dx [outer, n, inner] (overwritten): dout at each argmax, 0 elsewhere.
void reduce_max_backward(int64_t outer, int64_t n, int64_t inner, const float* dout, const int64_t* argmax,
                         float* dx);

// Sum of x [n] (float result of a double accumulation of float blocks).
float sum_all(int64_t n, const float* x);
void sum_all_backward(int64_t n, float dout, float* dx);  // dx[i] = dout

}  // namespace attn::kernels
