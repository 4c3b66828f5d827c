// Scaled dot-product attention on [batch, heads, len, head_dim] through the fused kernel: softmax(scale Q K^T +
// mask) V with padding (per-example key lengths) and causal masks; the backward recomputes from the saved
// log-sum-exp. attention_weights() returns the weights themselves for inspection (no gradient).
#pragma once
#include <span>

#include "attn/autograd/var.h"
#include "attn/kernels/dropout.h"

namespace attn::autograd {

struct AttentionOptions {
  std::span<const int32_t> key_lengths;  // one per batch element; empty: every key is valid
  bool causal = false;
  float scale = 0.0f;  // 0: 1/sqrt(head_dim)
  kernels::DropoutDraws dropout{};  // on the weights, inside the kernels (kernels/attention.h); p = 0: none
};

// q [B, H, Lq, D], k and v [B, H, Lk, D] -> [B, H, Lq, D].
Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& options = {});

// Self-attention straight from a fused q/k/v projection: qkv [B, L, 3 E] holds each position's q, k and v side
// by side, each [H, D] with E = H D (the layout of MultiheadAttention's in_proj) -> [B, L, E], heads merged. The
// kernels read and write the heads where they lie: no split or merge copies, forward or backward.
Var self_attention_packed(const Var& qkv, int64_t heads, const AttentionOptions& options = {});

// The weights [B, H, Lq, Lk] (masked entries 0), for heatmaps.
Tensor attention_weights(const Tensor& q, const Tensor& k, const AttentionOptions& options = {});

}  // namespace attn::autograd
