#include "attn/nn/transformer/decoder_layer.h"

#include "attn/autograd/ops/arithmetic.h"

namespace attn::nn {

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerOptions& o, Rng& rng) : options_(o) {
  // Registration order follows PyTorch's state_dict.
  self_attn =
      register_module("self_attn", std::make_shared<MultiheadAttention>(o.d_model, o.num_heads, rng, o.dropout));
  multihead_attn =
      register_module("multihead_attn", std::make_shared<MultiheadAttention>(o.d_model, o.num_heads, rng, o.dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward, rng));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, rng));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model, rng));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(o.dropout, rng));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(o.dropout, rng));
  dropout3_ = register_module("dropout3", std::make_shared<Dropout>(o.dropout, rng));
}

template <class SelfAttention, class CrossAttention>
Var TransformerDecoderLayer::run(const Var& tgt, SelfAttention&& self_block, CrossAttention&& cross_block) {
  auto sa = [&](const Var& h) { return dropout1_->forward(self_block(h)); };
  auto ca = [&](const Var& h) { return dropout2_->forward(cross_block(h)); };
  auto ff = [&](const Var& in, const Var& residual) {
    return feed_forward(*linear1, *linear2, *dropout_, *dropout3_, options_.activation, in, residual);
  };
  if (options_.norm_first) {
    Var h = tgt + sa(norm1->forward(tgt));
    h = h + ca(norm2->forward(h));
    return ff(norm3->forward(h), h);
  }
  Var h = norm1->forward(tgt + sa(tgt));
  h = norm2->forward(h + ca(h));
  return norm3->forward(ff(h, h));
}

Var TransformerDecoderLayer::forward(const Var& tgt, const Var& memory, const AttentionMasking& tgt_masking,
                                     std::span<const int32_t> memory_lengths, Tensor* cross_weights) {
  return run(
      tgt, [&](const Var& h) { return self_attn->forward(h, h, h, tgt_masking); },
      [&](const Var& h) { return multihead_attn->forward(h, memory, memory, {memory_lengths, false}, cross_weights); });
}

Var TransformerDecoderLayer::forward_incremental(const Var& tgt, const Var& memory, DecoderCache& cache,
                                                 std::span<const int32_t> memory_lengths, Tensor* cross_weights,
                                                 bool per_head) {
  return run(
      tgt, [&](const Var& h) { return self_attn->forward_incremental(h, cache.self_attn); },
      [&](const Var& h) {
        return multihead_attn->forward_cross_cached(h, memory, cache.cross_attn, memory_lengths, cross_weights,
                                                    per_head);
      });
}

}  // namespace attn::nn
