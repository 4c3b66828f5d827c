// Layer normalisation over the last dimension of x [rows, n], as torch.nn.functional.layer_norm (biased
// variance, eps inside the square root):  y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps).
#pragma once
#include <cstdint>

namespace attn::kernels {

// y [rows, n]. gamma, beta [n]; either may be null (no scale / no shift). mean, rstd [rows] are saved for the
// backward; either may be null when no backward will follow.
void layer_norm_forward(int64_t rows, int64_t n, const float* x, const float* gamma, const float* beta, float eps,
                        float* y, float* mean, float* rstd);

// dx [rows, n] is overwritten; dgamma, dbeta [n] are overwritten with their sums over the rows (null: not wanted).
// gamma may be null (as in the forward). Rows are split over threads in chunks fixed by the sizes and the
// per-chunk partial sums of dgamma/dbeta are added in chunk order, so the result does not depend on the threads.
void layer_norm_backward(int64_t rows, int64_t n, const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma, float* dbeta);

}  // namespace attn::kernels
