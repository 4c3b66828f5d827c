// Sums and means, over everything (a scalar of shape []) or over one axis (removed from the shape); the maximum
// over a batch of sequences' valid steps.
#pragma once
#include <span>

#include "attn/autograd/var.h"

namespace attn::autograd {

Var sum(const Var& x);
Var mean(const Var& x);
Var sum(const Var& x, int64_t axis);
Var mean(const Var& x, int64_t axis);
// x [B, T, D] -> [B, D]: each feature's largest value over the first lengths[b] steps (lengths empty: all T); a
// sequence of length 0 gives zeros. The gradient goes to the step that held the maximum (the first of ties).
Var max_over_steps(const Var& x, std::span<const int32_t> lengths = {});

}  // namespace attn::autograd
