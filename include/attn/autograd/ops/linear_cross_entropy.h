// The output projection and cross-entropy as one op, for large vocabularies: the same loss as
// cross_entropy(linear(hidden, weight, bias), targets) without ever holding the [rows, vocab] logits.
#pragma once
#include <span>

#include "attn/autograd/var.h"
#include "attn/kernels/cross_entropy.h"

namespace attn::autograd {

// hidden [..., dim], weight [vocab, dim], bias [vocab] or undefined, one target per row of hidden
// -> mean loss over rows whose target != ignore_index (shape []).
// The loss is a scalar, so when a gradient will be wanted the forward computes d loss / d inputs at once (the
// logits are at hand then) and the backward only scales them by the incoming gradient. Under NoGradGuard, or
// when no input requires a gradient, only the loss is computed.
Var linear_cross_entropy(const Var& hidden, const Var& weight, const Var& bias, std::span<const int32_t> targets,
                         const kernels::CrossEntropyOptions& options = {});

}  // namespace attn::autograd
