// A stack of self-attention layers, each x <- LayerNorm(x + SelfAttention(x)) (post-norm, no feed-forward):
// a simple composable encoder whose every layer reports its attention weights. The Transformer's layers, with
// feed-forward blocks and pre-/post-norm choices, are nn/transformer/. Parameters: layers.{i}.attn.* (as
// MultiheadAttention) and layers.{i}.norm.{weight,bias}.
#pragma once
#include <memory>
#include <vector>

#include "attn/core/rng.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/layer_norm.h"
#include "attn/nn/module.h"

namespace attn::nn {

class StackedAttentionLayer : public Module {
 public:
  StackedAttentionLayer(int64_t embed_dim, int64_t num_heads, Rng& rng, float dropout = 0.0f);
  // x [B, L, E] -> [B, L, E]; weights as MultiheadAttention::forward.
  Var forward(const Var& x, const AttentionMasking& masking = {}, Tensor* weights = nullptr, bool per_head = false);

  std::shared_ptr<MultiheadAttention> attn;
  std::shared_ptr<LayerNorm> norm;
};

class StackedSelfAttention : public Module {
 public:
  StackedSelfAttention(int64_t num_layers, int64_t embed_dim, int64_t num_heads, Rng& rng, float dropout = 0.0f);

  // x [B, L, E] -> [B, L, E]. weights, when given, receives one tensor per layer: [B, L, L] (mean over heads) or
  // [B, H, L, L] with per_head. Positions past a sequence's length are never attended to, so they do not change
  // the valid positions' outputs; their own outputs are not meaningful.
  Var forward(const Var& x, const AttentionMasking& masking = {}, std::vector<Tensor>* weights = nullptr,
              bool per_head = false);

  std::vector<std::shared_ptr<StackedAttentionLayer>> layers;

 private:
  int64_t embed_dim_, num_heads_;
};

}  // namespace attn::nn
