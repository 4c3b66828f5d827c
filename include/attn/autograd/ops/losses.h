// Binary cross-entropy on logits and mean squared error as autograd ops, with PyTorch's semantics
// (F.binary_cross_entropy_with_logits with pos_weight, F.mse_loss). Targets may require a gradient too.
#pragma once
#include "attn/autograd/var.h"
#include "attn/kernels/losses.h"

namespace attn::autograd {

struct BceOptions {
  kernels::Reduction reduction = kernels::Reduction::kMean;
  // Weight of the positive term per class: shape [C] with C the logits' last dimension, or [1]; undefined for 1.
  Tensor pos_weight;
};

// logits, targets: the same shape [..., C]; targets are probabilities. Returns a scalar (shape []) for mean and
// sum, the per-element loss (logits' shape) for none.
Var binary_cross_entropy_with_logits(const Var& logits, const Var& targets, const BceOptions& options = {});

// input, target: the same shape. Returns a scalar for mean and sum, the per-element (x - y)^2 for none.
Var mse_loss(const Var& input, const Var& target, kernels::Reduction reduction = kernels::Reduction::kMean);

}  // namespace attn::autograd
