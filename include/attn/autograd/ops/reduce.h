// Sums and means, over everything (a scalar of shape []) or over one axis (removed from the shape).
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

Var sum(const Var& x);
Var mean(const Var& x);
Var sum(const Var& x, int64_t axis);
Var mean(const Var& x, int64_t axis);

}  // namespace attn::autograd
