// Scaled dot-product attention on [batch, heads, len, head_dim] float32 arrays (contiguous).
//   out = softmax(scale * Q K^T + mask) V
// The fused path tiles Q, K and V, keeps a running max and sum per query row (online softmax) and never
// holds the len_q x len_k matrix; the backward recomputes scores tile by tile from the saved log-sum-exp.
// attention_with_weights() is the slow path that also returns the weights, for inspection.
#pragma once
#include <cstdint>

#include "attn/kernels/dropout.h"

namespace attn::kernels {

struct AttentionShape {
  int64_t batch = 0, heads = 0, len_q = 0, len_k = 0, head_dim = 0;
};

struct AttentionMask {
  // Valid keys per batch element (padding mask): query rows see keys [0, key_lengths[b]). nullptr: all keys.
  const int32_t* key_lengths = nullptr;
  // Query i sees keys j <= i + (len_k - len_q): the queries are the last len_q positions of the sequence,
  // which is what incremental decoding with a key/value cache needs.
  bool causal = false;
};

// Checks sizes and masks; throws attn::Error naming the op and the shape.
void check_attention_args(const char* op, const AttentionShape& s, const AttentionMask& mask);

// out [B,H,Lq,D]; lse [B,H,Lq] = log of each row's softmax denominator (over scaled scores), -inf for a row
// with no visible key. Such a row's output is zero.
void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse);

// Where each head's rows lie when Q, K, V or the output are views into other layouts (the [B, L, 3, H, D] output
// of a fused q/k/v projection, an output written as [B, L, H, D] for the output projection): row i of head h of
// batch element b starts at ptr + b * batch + h * head + i * row.
struct HeadStrides {
  int64_t batch = 0, head = 0, row = 0;
};
struct AttentionStrides {
  HeadStrides q, k, v, out;
};
AttentionStrides contiguous_strides(const AttentionShape& s);  // [B, H, L, D]

// attention_forward on strided operands (row strides >= head_dim; the output's rows must not overlap). lse may
// be null when no backward follows (inference).
// `dropout` drops weights in training: weight (b, h, i, j) is dropped by draw ((b H + h) Lq + i) Lk + j, as
// dropout_forward over the contiguous [B, H, Lq, Lk] weights would drop it; the softmax normaliser counts every
// weight. The backward, given the same draws, regenerates the same mask.
void attention_forward_strided(const AttentionShape& s, const float* q, const float* k, const float* v,
                               const AttentionStrides& strides, const AttentionMask& mask, float scale, float* out,
                               float* lse, const DropoutDraws& dropout = {});

// Gradients from dout, given the forward's out and lse. dq, dk, dv are overwritten.
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* out,
                        const float* dout, const float* lse, const AttentionMask& mask, float scale, float* dq,
                        float* dk, float* dv);

// attention_backward on strided operands: dout lies as out does, and dq, dk, dv as q, k, v do (a fused q/k/v
// projection gets its gradient [B, L, 3, H, D] written in place). Gaps between rows are not written.
void attention_backward_strided(const AttentionShape& s, const float* q, const float* k, const float* v,
                                const float* out, const float* dout, const float* lse, const AttentionStrides& strides,
                                const AttentionMask& mask, float scale, float* dq, float* dk, float* dv,
                                const DropoutDraws& dropout = {});

// Materialises the weights [B,H,Lq,Lk] (masked entries are 0) and out [B,H,Lq,D] (skipped when out is null).
void attention_with_weights(const AttentionShape& s, const float* q, const float* k, const float* v,
                            const AttentionMask& mask, float scale, float* out, float* weights);

}  // namespace attn::kernels
