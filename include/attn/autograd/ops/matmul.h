// Matrix products through the BLAS: plain, batched, and the linear layer's x W^T + b in PyTorch's layout.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

// a [..., m, k] x b [k, n] -> [..., m, n]  (leading dims of a are flattened into rows), or
// a [batch, m, k] x b [batch, k, n] -> [batch, m, n].
Var matmul(const Var& a, const Var& b);

// x [..., in], weight [out, in], bias [out] or undefined -> [..., out].
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

// What follows the product in linear_fused: y = act(x W^T + b) + residual, act relu or the identity, residual
// [..., out] or undefined.
struct LinearFusion {
  bool relu = false;
  Var residual;
};
// linear, then relu and the residual add. Inference over few rows applies them in the product's epilogue, one
// pass over the output instead of up to four and no intermediate tensors; otherwise (gradients on, many rows) it
// runs the same ops one after another.
Var linear_fused(const Var& x, const Var& weight, const Var& bias, const LinearFusion& fusion);

}  // namespace attn::autograd
