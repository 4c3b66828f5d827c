// Numerically stable softmax and log-softmax over any axis (-inf entries act as a mask).
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

Var softmax(const Var& x, int64_t axis = -1);
Var log_softmax(const Var& x, int64_t axis = -1);

}  // namespace attn::autograd
