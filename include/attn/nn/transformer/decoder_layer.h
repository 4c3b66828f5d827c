// Transformer decoder layer with PyTorch's nn.TransformerDecoderLayer parameters (batch-first): causal
// self-attention, cross-attention over the encoder's memory, feed-forward; post-LN or pre-LN. Incremental
// decoding keeps each position's keys and values in a cache, so a step costs O(length), not O(length^2).
#pragma once
#include <memory>

#include "attn/nn/transformer/encoder_layer.h"

namespace attn::nn {

// Per-layer caches for incremental decoding.
struct DecoderCache {
  KVCache self_attn, cross_attn;
};

class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(const TransformerLayerOptions& options, Rng& rng);
  // tgt [B, Lt, E], memory [B, Ls, E]. tgt_masking is usually {target lengths, causal = true};
  // memory_lengths masks the source padding. cross_weights receives the cross-attention weights [B, Lt, Ls].
  Var forward(const Var& tgt, const Var& memory, const AttentionMasking& tgt_masking,
              std::span<const int32_t> memory_lengths = {}, Tensor* cross_weights = nullptr);
  // The next positions tgt [B, Lnew, E] given everything cached so far (inference: no gradient). cross_weights
  // as for forward, or [B, heads, Lnew, Ls] with per_head.
  Var forward_incremental(const Var& tgt, const Var& memory, DecoderCache& cache,
                          std::span<const int32_t> memory_lengths = {}, Tensor* cross_weights = nullptr,
                          bool per_head = false);

  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;

 private:
  template <class SelfAttention, class CrossAttention>
  Var run(const Var& tgt, SelfAttention&& self_block, CrossAttention&& cross_block);

  TransformerLayerOptions options_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_, dropout3_;
};

}  // namespace attn::nn
