#include "attn/nn/linear.h"

#include <cmath>

#include "attn/autograd/ops/matmul.h"
#include "attn/core/error.h"

namespace attn::nn {

Linear::Linear(int64_t in_features, int64_t out_features, Rng& rng, bool with_bias)
    : in_(in_features), out_(out_features) {
  ATTN_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got in={} out={}", in_features,
             out_features);
  const float bound = 1.0f / std::sqrt(float(in_features));
  Tensor w = Tensor::empty({out_features, in_features});
  fill_uniform(rng, w.data(), w.numel(), -bound, bound);
  weight = register_parameter("weight", w);
  if (with_bias) {
    Tensor b = Tensor::empty({out_features});
    fill_uniform(rng, b.data(), b.numel(), -bound, bound);
    bias = register_parameter("bias", b);
  }
}

Var Linear::forward(const Var& x) const { return forward(x, autograd::LinearFusion{}); }

Var Linear::forward(const Var& x, const autograd::LinearFusion& fusion) const {
  ATTN_CHECK(x.value().dim() >= 1 && x.shape().back() == in_, "Linear({}, {}): input of shape {} (last dim must be {})",
             in_, out_, shape_str(x.shape()), in_);
  return autograd::linear_fused(x, weight, bias, fusion);
}

}  // namespace attn::nn
