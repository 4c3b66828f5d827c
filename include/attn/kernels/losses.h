// Element-wise losses over contiguous arrays, forward and backward: binary cross-entropy on logits (PyTorch's
// binary_cross_entropy_with_logits, numerically stable for any logit, optional pos_weight) and mean squared
// error, each with reduction none, mean or sum.
#pragma once
#include <cstdint>

namespace attn::kernels {

enum class Reduction { kNone, kMean, kSum };
const char* reduction_name(Reduction r);  // "none", "mean", "sum"

// x, y: [rows, cols] logits and targets (targets are probabilities, usually 0 or 1); pos_weight: [cols] (one per
// class, broadcast over rows), or null for 1.
//   l = (1 - y) x + w (max(-x, 0) + log(1 + exp(-|x|))),   w = 1 + (pos_weight - 1) y
// (with pos_weight 1: max(x, 0) - x y + log(1 + exp(-|x|))). kNone writes l [rows, cols] to loss; kMean and kSum
// write the mean or sum (accumulated in double, the same on any thread count) to loss[0].
void bce_with_logits_forward(const float* x, const float* y, const float* pos_weight, int64_t rows, int64_t cols,
                             Reduction reduction, float* loss);
// dloss: [rows, cols] for kNone, [1] otherwise. dx = dloss * ((1 - y) sigmoid(x) - pos_weight y sigmoid(-x))
// (divided by rows * cols for kMean) and dy = dloss * (-x + (pos_weight - 1) softplus(-x)); dx, dy [rows, cols] are
// overwritten, and either may be null.
void bce_with_logits_backward(const float* x, const float* y, const float* pos_weight, int64_t rows, int64_t cols,
                              Reduction reduction, const float* dloss, float* dx, float* dy);

// l = (x - y)^2 over n elements; loss as for BCE.
void mse_forward(const float* x, const float* y, int64_t n, Reduction reduction, float* loss);
// dx = 2 (x - y) dloss (divided by n for kMean), dy = -dx; either may be null.
void mse_backward(const float* x, const float* y, int64_t n, Reduction reduction, const float* dloss, float* dx,
                  float* dy);

}  // namespace attn::kernels
