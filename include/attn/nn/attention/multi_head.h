// Multi-head attention with PyTorch's nn.MultiheadAttention parameters (in_proj_weight [3E, E] packing the
// query, key and value projections, in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E]), batch-first.
// Self-attention (query = key = value) projects with one GEMM; the heads run through the fused kernel unless
// attention dropout is active in training, where the weights must exist to be dropped.
#pragma once
#include <array>
#include <memory>
#include <mutex>
#include <span>

#include "attn/core/rng.h"
#include "attn/nn/dropout.h"
#include "attn/nn/linear.h"
#include "attn/nn/module.h"

namespace attn::nn {

// Keys and values of the positions decoded so far, [B, H, L, D] each, for incremental decoding.
struct KVCache {
  Tensor k, v;
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
  void clear() { k = Tensor(), v = Tensor(); }
};

struct AttentionMasking {
  std::span<const int32_t> key_lengths;  // [B] valid keys per example; empty: all
  bool causal = false;                   // query i sees keys j <= i + (Lk - Lq)
};

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, Rng& rng, float dropout = 0.0f, bool bias = true);

  // query [B, Lq, E], key and value [B, Lk, E] -> [B, Lq, E]. weights, when given, receives the attention
  // weights averaged over heads [B, Lq, Lk] (as PyTorch's need_weights) or, with per_head, [B, H, Lq, Lk].
  // residual [B, Lq, E], when given, is added to the output (by the output projection's epilogue in inference).
  Var forward(const Var& query, const Var& key, const Var& value, const AttentionMasking& masking = {},
              Tensor* weights = nullptr, bool per_head = false, const Var& residual = Var());

  // Incremental self-attention for decoding (no gradient): x [B, Lnew, E] are the next positions; their keys
  // and values are appended to `cache`, and each new position attends to everything before it and itself.
  Var forward_incremental(const Var& x, KVCache& cache, Tensor* weights = nullptr);
  // Incremental cross-attention: the memory's keys and values are projected once into `cache`. weights as for
  // forward.
  Var forward_cross_cached(const Var& query, const Var& memory, KVCache& cache, std::span<const int32_t> key_lengths,
                           Tensor* weights = nullptr, bool per_head = false);

  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }

  Var in_proj_weight, in_proj_bias;
  std::shared_ptr<Linear> out_proj;

 private:
  // [B, L, E] -> [B, H, L, D]
  Var split_heads(const Var& x) const;
  // [B, H, L, D] -> [B, L, E] through out_proj (plus residual, when defined)
  Var merge_heads(const Var& x, const Var& residual = Var()) const;
  // Projection rows [part*E, (part+1)*E) of the packed in_proj (0 = q, 1 = k, 2 = v); parts = 2 for k and v.
  Var project(const Var& x, int64_t part, int64_t parts = 1) const;
  // Those rows of in_proj_weight and in_proj_bias; without gradients the same views from call to call.
  struct InProjRows {
    Var weight, bias;
    std::array<Tensor::ContentKey, 2> from;  // what they are views of
  };
  InProjRows in_proj_rows(int64_t part, int64_t parts) const;
  Var attend(const Var& q, const Var& k, const Var& v, const AttentionMasking& masking, Tensor* weights,
             bool per_head);
  // Self-attention with gradients from the q/k/v projection qkv [B, L, 3E] -> [B, L, E] (self_attention_packed:
  // no head split or merge copies), attention dropout inside the kernels.
  Var attend_packed(const Var& qkv, const AttentionMasking& masking);
  // Self-attention for inference: the fused kernel reads the heads where the q/k/v projection wrote them
  // ([B, L, 3, H, D]) and writes [B, L, H, D], out_proj's input, so no head split or merge copies.
  Var attend_in_place(const Var& x, const AttentionMasking& masking, const Var& residual);

  int64_t embed_dim_, num_heads_, head_dim_;
  std::shared_ptr<Dropout> dropout_;
  mutable std::mutex in_proj_rows_mutex_;
  mutable std::array<InProjRows, 6> in_proj_rows_;  // [part * 2 + parts - 1]
};

}  // namespace attn::nn
