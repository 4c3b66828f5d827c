#include "attn/nn/transformer/encoder_layer.h"

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/arithmetic.h"

namespace attn::nn {

Var feed_forward(const Linear& linear1, const Linear& linear2, Dropout& dropout, Dropout& dropout_out,
                 Activation activation, const Var& x, const Var& residual) {
  const bool relu = activation == Activation::kRelu;
  Var h;
  if (relu && dropout.active()) {
    h = dropout.forward_relu(linear1.forward(x));
  } else {  // relu (inference) in the product's epilogue
    h = linear1.forward(x, {.relu = relu, .residual = {}});
    if (!relu) h = autograd::gelu(h);
    h = dropout.forward(h);
  }
  if (dropout_out.active()) return residual + dropout_out.forward(linear2.forward(h));
  return linear2.forward(h, {.residual = residual});
}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& o, Rng& rng) : options_(o) {
  // Registration order follows PyTorch's state_dict.
  self_attn =
      register_module("self_attn", std::make_shared<MultiheadAttention>(o.d_model, o.num_heads, rng, o.dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward, rng));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, rng));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model, rng));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(o.dropout, rng));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(o.dropout, rng));
}

Var TransformerEncoderLayer::forward(const Var& x, const AttentionMasking& masking, Tensor* weights) {
  // residual + dropout1(self_attn(h)); without dropout the output projection adds the residual itself.
  auto self_block = [&](const Var& h, const Var& residual) {
    if (dropout1_->active()) return residual + dropout1_->forward(self_attn->forward(h, h, h, masking, weights));
    return self_attn->forward(h, h, h, masking, weights, false, residual);
  };
  auto ff_block = [&](const Var& in, const Var& residual) {
    return feed_forward(*linear1, *linear2, *dropout_, *dropout2_, options_.activation, in, residual);
  };
  if (options_.norm_first) {
    Var h = self_block(norm1->forward(x), x);
    return ff_block(norm2->forward(h), h);
  }
  Var h = norm1->forward(self_block(x, x));
  return norm2->forward(ff_block(h, h));
}

}  // namespace attn::nn
