// Softmax and hard top-k selection over attention scores under the padding (key lengths) and causal masks, for
// the attention modules that materialise their weights (additive, dot, general, pooling, hard, relative).
// Masked keys get exactly zero weight and a query that sees no key gets an all-zero row, never NaN.
#pragma once
#include <cstdint>

#include "attn/kernels/attention.h"

namespace attn::kernels {

// Keys [0, end) that query i of batch element b sees (end may be 0), with AttentionMask's conventions.
inline int64_t visible_keys(const AttentionMask& mask, int64_t b, int64_t i, int64_t len_q, int64_t len_k) {
  int64_t end = mask.key_lengths ? mask.key_lengths[b] : len_k;
  if (mask.causal) end = end < i + (len_k - len_q) + 1 ? end : i + (len_k - len_q) + 1;
  return end < 0 ? 0 : end;
}

// Checks the score shape and the key lengths; throws attn::Error naming `op`. head_dim is not used.
void check_score_args(const char* op, const AttentionShape& s, const AttentionMask& mask);

// weights = softmax over each row's visible keys, 0 elsewhere.
// scores, weights: [batch, heads, len_q, len_k] (weights may alias scores)
void masked_softmax_forward(const AttentionShape& s, const float* scores, const AttentionMask& mask, float* weights);

// Top-k selection per row among the visible keys: the k highest scores (ties go to the lowest index; all visible
// keys when fewer than k). Selected keys get 1/k' each (k' = number selected) or, with renormalise, the softmax
// of their scores; all others 0. A row holding a NaN among its visible scores gives NaN weights.
// scores, weights: [batch, heads, len_q, len_k]
void top_k_weights_forward(const AttentionShape& s, const float* scores, const AttentionMask& mask, int64_t k,
                           bool renormalise, float* weights);

// The backward of both (for top-k only with renormalise: the mean has no gradient) is softmax_backward over
// whole rows: masked and unselected weights are 0, so they pass no gradient.

}  // namespace attn::kernels
