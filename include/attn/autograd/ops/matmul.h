// Matrix products through the BLAS: plain, batched, and the linear layer's x W^T + b in PyTorch's layout.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

// a [..., m, k] x b [k, n] -> [..., m, n]  (leading dims of a are flattened into rows), or
// a [batch, m, k] x b [batch, k, n] -> [batch, m, n].
Var matmul(const Var& a, const Var& b);

// x [..., in], weight [out, in], bias [out] or undefined -> [..., out].
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

}  // namespace attn::autograd
