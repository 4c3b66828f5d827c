// Shape ops: reshape, transpose, permute and slice are views (values share storage with their input; gradients
// are reshaped, permuted or placed back); concat copies.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

Var reshape(const Var& x, Shape shape);
Var transpose(const Var& x, int64_t a, int64_t b);
Var permute(const Var& x, const std::vector<int64_t>& order);
// A contiguous copy (identity gradient); kernels need contiguous inputs.
Var contiguous(const Var& x);

// x[..., start:end, ...] along dim (a view); the gradient lands in that range of x's gradient.
Var slice(const Var& x, int64_t dim, int64_t start, int64_t end);
// Joins along dim; all other dimensions must agree.
Var concat(const std::vector<Var>& xs, int64_t dim);

}  // namespace attn::autograd
