// Losses. cross_entropy fuses log-softmax and the negative log-likelihood (PyTorch's F.cross_entropy).
#pragma once
#include <span>

#include "attn/autograd/var.h"
#include "attn/kernels/cross_entropy.h"

namespace attn::autograd {

// logits [rows, classes], targets [rows] -> mean loss over rows whose target != ignore_index (shape []).
Var cross_entropy(const Var& logits, std::span<const int32_t> targets, const kernels::CrossEntropyOptions& options = {});

}  // namespace attn::autograd
