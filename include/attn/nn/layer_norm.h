// LayerNorm over the last dimension with learnable gain and bias (weight = 1, bias = 0 at the start).
#pragma once
#include "attn/nn/module.h"

namespace attn::nn {

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, float eps = 1e-5f, bool affine = true);
  Var forward(const Var& x) const;  // [..., dim]
  Var weight, bias;

 private:
  int64_t dim_;
  float eps_;
};

}  // namespace attn::nn
