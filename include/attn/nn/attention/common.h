// What the attention modules (additive, dot, general, hard, pooling) share: argument checks that name the module,
// [B, D] queries treated as one-step sequences, and the masked softmax + weighted sum that turns scores into a
// context. Masked keys get exactly zero weight; a query that sees no key gets a zero context, never NaN.
#pragma once
#include <span>
#include <string>

#include "attn/autograd/ops/attention_masking.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/module.h"

namespace attn::nn {

autograd::ScoreMask score_mask(const AttentionMasking& masking);

// Throws attn::Error starting with `who` (e.g. "DotAttention(scaled)") unless query is [B, Dq] or [B, Lq, Dq],
// keys [B, Lk, Dk], values [B, Lk, Dv], with masking.key_lengths holding B entries in [0, Lk]. query_dim or
// key_dim < 0 accepts any size.
void check_attention_args(const std::string& who, const Var& query, const Var& keys, const Var& values,
                          const AttentionMasking& masking, int64_t query_dim = -1, int64_t key_dim = -1);

// Throws unless key_lengths is empty or holds keys[0] entries in [0, keys[1]] (keys [B, Lk, ...]).
void check_key_lengths(const std::string& who, std::span<const int32_t> key_lengths, const Shape& keys);

// [B, D] -> [B, 1, D]; a [B, L, D] query is returned as is.
Var query_as_sequence(const Var& query);

// context = weights values: weights [B, Lq, Lk], values [B, Lk, Dv] -> [B, Lq, Dv], or [B, Dv] (and weights
// [B, Lk]) when single_query (the query was [B, D]). weights_out, when given, receives the weights (no gradient).
Var weighted_sum(const Var& weights, const Var& values, bool single_query, Tensor* weights_out);

// weighted_sum of masked_softmax(scores): scores [B, Lq, Lk].
Var attend(const Var& scores, const Var& values, const AttentionMasking& masking, bool single_query,
           Tensor* weights_out);

// scale * q k^T: q [B, Lq, D], k [B, Lk, D] -> [B, Lq, Lk].
Var dot_scores(const Var& q, const Var& k, float scale);

// softmax(scale q k^T + mask) v for q [B, Lq, D], k [B, Lk, D], v [B, Lk, Dv]. Runs through the fused kernel when
// v has k's shape (the weights, when asked for, come from its weights path), otherwise materialises the scores.
Var dot_product_attend(const Var& q, const Var& k, const Var& v, float scale, const AttentionMasking& masking,
                       bool single_query, Tensor* weights_out);

}  // namespace attn::nn
