// Elementwise nonlinearities.
#pragma once
#include "attn/autograd/var.h"
#include "attn/kernels/activation.h"

namespace attn::autograd {

Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var relu(const Var& x);
Var gelu(const Var& x, kernels::GeluApprox approx = kernels::GeluApprox::kErf);

}  // namespace attn::autograd
