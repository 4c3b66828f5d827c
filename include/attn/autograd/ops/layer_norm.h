// Layer normalisation over the last dimension (PyTorch's F.layer_norm: biased variance).
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

// x [..., n]; gamma, beta [n] or undefined (no affine part).
Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps = 1e-5f);

}  // namespace attn::autograd
