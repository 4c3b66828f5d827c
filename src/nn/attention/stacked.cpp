#include "attn/nn/attention/stacked.h"

#include <string>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/core/error.h"

namespace attn::nn {

StackedAttentionLayer::StackedAttentionLayer(int64_t embed_dim, int64_t num_heads, Rng& rng, float dropout)
    : attn(register_module("attn", std::make_shared<MultiheadAttention>(embed_dim, num_heads, rng, dropout))),
      norm(register_module("norm", std::make_shared<LayerNorm>(embed_dim))) {}

Var StackedAttentionLayer::forward(const Var& x, const AttentionMasking& masking, Tensor* weights, bool per_head) {
  return norm->forward(autograd::add(x, attn->forward(x, x, x, masking, weights, per_head)));
}

StackedSelfAttention::StackedSelfAttention(int64_t num_layers, int64_t embed_dim, int64_t num_heads, Rng& rng,
                                           float dropout)
    : embed_dim_(embed_dim), num_heads_(num_heads) {
  ATTN_CHECK(num_layers >= 1, "StackedSelfAttention: num_layers must be at least 1, got {}", num_layers);
  for (int64_t i = 0; i < num_layers; ++i) {
    layers.push_back(register_module("layers." + std::to_string(i),
                                     std::make_shared<StackedAttentionLayer>(embed_dim, num_heads, rng, dropout)));
  }
}

Var StackedSelfAttention::forward(const Var& x, const AttentionMasking& masking, std::vector<Tensor>* weights,
                                  bool per_head) {
  ATTN_CHECK(x.defined() && x.value().dim() == 3 && x.size(2) == embed_dim_,
             "StackedSelfAttention(layers {}, embed_dim {}, heads {}): input of shape {} (need [B, L, {}])",
             layers.size(), embed_dim_, num_heads_, x.defined() ? shape_str(x.shape()) : "none", embed_dim_);
  if (weights) weights->assign(layers.size(), Tensor());
  Var h = x;
  for (size_t i = 0; i < layers.size(); ++i)
    h = layers[i]->forward(h, masking, weights ? &(*weights)[i] : nullptr, per_head);
  return h;
}

}  // namespace attn::nn
