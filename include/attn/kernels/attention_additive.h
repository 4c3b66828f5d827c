// Bahdanau (additive) attention scores as one fused kernel: score[b,i,j] = sum_h v[h] tanh(qp[b,i,h] + kp[b,j,h]),
// where qp = W q and kp = U k (+ bias) are the projected queries and keys. Done as broadcast ops this would hold a
// [B, Lq, Lk, H] tensor and several graph nodes; here nothing of that size is stored and the backward
// recomputes tanh. Masked keys (AttentionMask) are skipped: their scores are set to 0 and get no gradient.
#pragma once
#include <cstdint>

#include "attn/kernels/attention.h"

namespace attn::kernels {

// s.heads must be 1; s.head_dim is the hidden size H.
// qp [B, Lq, H], kp [B, Lk, H], v [H] -> scores [B, Lq, Lk]
void additive_scores_forward(const AttentionShape& s, const float* qp, const float* kp, const float* v,
                             const AttentionMask& mask, float* scores);

// dqp [B, Lq, H], dkp [B, Lk, H], dv [H] are overwritten; dscores [B, Lq, Lk].
void additive_scores_backward(const AttentionShape& s, const float* qp, const float* kp, const float* v,
                              const AttentionMask& mask, const float* dscores, float* dqp, float* dkp, float* dv);

}  // namespace attn::kernels
