// Softmax and log-softmax over one axis of a contiguous float32 array, forward and backward. The array is seen
// as [outer, n, inner] and the op runs along n; inner == 1 (the last axis) is the fast, row-at-a-time path.
// Rows run in parallel on attn's OpenMP threads; every function checks its sizes and throws attn::Error first.
#pragma once
#include <cstdint>

namespace attn::kernels {

// y[o,:,i] = exp(x[o,:,i] - max) / sum(exp(x[o,:,i] - max)).
// Stable for any finite input (+-1e4 does not overflow); -inf entries get weight 0; a slice that is entirely
// -inf gives all zeros (never NaN); a NaN anywhere in a slice makes that slice NaN. y may alias x.
// x, y: [outer, n, inner]
void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);

// dx = y * (dy - sum(dy * y)) along n, from the forward's output y. dx may alias dy.
// y, dy, dx: [outer, n, inner]
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner);

// y = x - max - log(sum(exp(x - max))). A slice that is entirely -inf gives all -inf (log 0), never NaN.
// y may alias x.
// x, y: [outer, n, inner]
void log_softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);

// dx = dy - exp(y) * sum(dy) along n, from the forward's output y. Entries with y == -inf get dx = 0 and take no
// part in the sum: such an output is -inf whatever the finite inputs are, so it passes no gradient to them.
// (With dy == 0 on those entries, as any finite loss has, this is exactly the formula above.) dx may alias dy.
// y, dy, dx: [outer, n, inner]
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner);

}  // namespace attn::kernels
