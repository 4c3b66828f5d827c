// Transformer encoder layer with PyTorch's nn.TransformerEncoderLayer parameters and semantics (batch-first):
// self-attention and a feed-forward block (linear1 -> activation -> dropout -> linear2), each with dropout and
// a residual connection, LayerNorm after (post-LN, norm_first = false) or before (pre-LN) each block.
#pragma once
#include <memory>

#include "attn/nn/attention/multi_head.h"
#include "attn/nn/layer_norm.h"

namespace attn::nn {

enum class Activation { kRelu, kGelu };

struct TransformerLayerOptions {
  int64_t d_model = 512;
  int64_t num_heads = 8;
  int64_t dim_feedforward = 2048;
  float dropout = 0.1f;
  Activation activation = Activation::kRelu;
  bool norm_first = false;  // pre-LN when true
  float layer_norm_eps = 1e-5f;
};

// The position-wise feed-forward block with its residual connection, shared by encoder and decoder layers:
// residual + dropout_out(linear2(dropout(act(linear1(x))))). With the dropouts inactive, relu and the residual
// add run in the products' epilogues where Linear can fuse them (inference).
Var feed_forward(const Linear& linear1, const Linear& linear2, Dropout& dropout, Dropout& dropout_out,
                 Activation activation, const Var& x, const Var& residual);

class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(const TransformerLayerOptions& options, Rng& rng);
  // x [B, L, E]; key_lengths masks padding; causal for decoder-only (language) models. weights, when given,
  // receives the self-attention weights averaged over heads [B, L, L].
  Var forward(const Var& x, const AttentionMasking& masking = {}, Tensor* weights = nullptr);

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  TransformerLayerOptions options_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_;
};

}  // namespace attn::nn
