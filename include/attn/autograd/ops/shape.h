// View ops: reshape, transpose, permute. Values share storage with their input; gradients are reshaped or
// permuted back.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

Var reshape(const Var& x, Shape shape);
Var transpose(const Var& x, int64_t a, int64_t b);
Var permute(const Var& x, const std::vector<int64_t>& order);
// A contiguous copy (identity gradient); kernels need contiguous inputs.
Var contiguous(const Var& x);

}  // namespace attn::autograd
