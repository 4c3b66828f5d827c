#include "attn/nn/transformer/encoder_layer.h"

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/arithmetic.h"

namespace attn::nn {

Var feed_forward(const Linear& linear1, const Linear& linear2, Dropout& dropout, Activation activation, const Var& x) {
  Var h = linear1.forward(x);
  h = activation == Activation::kRelu ? autograd::relu(h) : autograd::gelu(h);
  return linear2.forward(dropout.forward(h));
}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& o, Rng& rng) : options_(o) {
  // Registration order follows PyTorch's state_dict.
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(o.d_model, o.num_heads, rng, o.dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward, rng));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, rng));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model, rng));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(o.dropout, rng));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(o.dropout, rng));
}

Var TransformerEncoderLayer::forward(const Var& x, const AttentionMasking& masking, Tensor* weights) {
  auto self_block = [&](const Var& h) { return dropout1_->forward(self_attn->forward(h, h, h, masking, weights)); };
  auto ff_block = [&](const Var& h) {
    return dropout2_->forward(feed_forward(*linear1, *linear2, *dropout_, options_.activation, h));
  };
  if (options_.norm_first) {
    Var h = x + self_block(norm1->forward(x));
    return h + ff_block(norm2->forward(h));
  }
  Var h = norm1->forward(x + self_block(x));
  return norm2->forward(h + ff_block(h));
}

}  // namespace attn::nn
