// Inverted dropout: kept elements are scaled by 1 / (1 - p) so the expectation is unchanged and inference needs
// no rescaling. Element i is kept when uniform_at(seed, offset + i) >= p (core/rng.h), so the mask depends only on
// (seed, offset) and never on the thread count; a caller advances offset by n per call to get fresh masks.
#pragma once
#include <cstdint>

namespace attn::kernels {

// y [n] = x * mask / (1 - p) (a dropped NaN or inf gives NaN, as in PyTorch); mask [n] gets 1 for kept elements
// and 0 for dropped ones, or may be null when no backward follows. p must be in [0, 1); p = 0 copies x and keeps
// everything. y may alias x.
void dropout_forward(int64_t n, const float* x, float p, uint64_t seed, uint64_t offset, float* y, uint8_t* mask);

// dx [n] = dy * mask / (1 - p), with the forward's mask and p. dx may alias dy.
void dropout_backward(int64_t n, const float* dy, const uint8_t* mask, float p, float* dx);

// Dropout after relu in one pass (a Transformer's feed-forward block): y [n] = relu(x) * mask / (1 - p), by the
// same draws as dropout_forward. No mask is kept: y > 0 exactly where x > 0 and the element was kept, so the
// backward needs only y. p in [0, 1).
void relu_dropout_forward(int64_t n, const float* x, float p, uint64_t seed, uint64_t offset, float* y);

// dx [n] = y > 0 ? dy / (1 - p) : 0, the gradient of relu then dropout. dx may alias dy.
void relu_dropout_backward(int64_t n, const float* y, const float* dy, float p, float* dx);

// Draws reserved for a kernel that drops inside its own loops (fused attention): element i of its logical
// array is kept when uniform_at(seed, offset + i) >= p, as dropout_forward(n, x, p, seed, offset, ...) decides.
struct DropoutDraws {
  float p = 0.0f;  // 0: nothing is dropped
  uint64_t seed = 0, offset = 0;
};

}  // namespace attn::kernels
