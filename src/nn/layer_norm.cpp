#include "attn/nn/layer_norm.h"

#include "attn/autograd/ops/layer_norm.h"
#include "attn/core/error.h"

namespace attn::nn {

LayerNorm::LayerNorm(int64_t dim, float eps, bool affine) : dim_(dim), eps_(eps) {
  ATTN_CHECK(dim > 0, "LayerNorm: dim must be positive, got {}", dim);
  if (affine) {
    weight = register_parameter("weight", Tensor::full({dim}, 1.0f));
    bias = register_parameter("bias", Tensor::zeros({dim}));
  }
}

Var LayerNorm::forward(const Var& x) const {
  ATTN_CHECK(x.value().dim() >= 1 && x.shape().back() == dim_, "LayerNorm({}): input of shape {}", dim_,
             shape_str(x.shape()));
  return autograd::layer_norm(x, weight, bias, eps_);
}

}  // namespace attn::nn
