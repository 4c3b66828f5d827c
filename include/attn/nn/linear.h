// Linear layer y = x W^T + b with PyTorch's layout (weight [out, in]) and default initialisation
// (uniform in +-1/sqrt(in) for weight and bias).
#pragma once
#include "attn/autograd/ops/matmul.h"
#include "attn/core/rng.h"
#include "attn/nn/module.h"

namespace attn::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Rng& rng, bool bias = true);
  Var forward(const Var& x) const;  // [..., in] -> [..., out]
  // act(x W^T + b) + residual, fused into the product where autograd::linear_fused can (inference).
  Var forward(const Var& x, const autograd::LinearFusion& fusion) const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Var weight, bias;  // bias undefined when built without one

 private:
  int64_t in_, out_;
};

}  // namespace attn::nn
