// The output projection and softmax cross-entropy in one pass over row chunks, for large vocabularies: logits
// [rows, vocab] are made a chunk at a time, turned into the loss and (when wanted) the gradient in place, and used
// up at once by the gradient products, so memory holds a chunk per thread and never the whole [rows, vocab].
#pragma once
#include <cstdint>

#include "attn/kernels/cross_entropy.h"

namespace attn::kernels {

// What linear_cross_entropy writes besides the loss; each null pointer is skipped (its work too).
struct LinearCrossEntropyOutputs {
  float* grad_hidden = nullptr;  // [rows, dim]: d(mean loss)/d hidden; zero for ignored rows
  float* grad_weight = nullptr;  // [vocab, dim]: d(mean loss)/d weight
  float* grad_bias = nullptr;    // [vocab]: d(mean loss)/d bias
  float* row_loss = nullptr;     // [rows]: each row's loss (as PyTorch's reduction='none'); 0 for ignored rows
  int32_t* argmax = nullptr;     // [rows]: each row's highest-scoring class (first of ties); -1 for ignored rows
};

// logits = hidden weight^T + bias; returns cross_entropy_forward(logits, targets, ...), the mean loss over rows
// whose target != ignore_index (0 when there are none), and writes `out`. Gradients are overwritten, not added to.
// Ignored rows cost nothing: their logits are never computed.
// hidden: [rows, dim], weight: [vocab, dim] (PyTorch's Linear layout), bias: [vocab] or null, targets: [rows].
// Throws attn::Error for dim or vocab < 1, eps outside [0, 1], or a target outside [0, vocab) that is not
// ignore_index.
float linear_cross_entropy(const float* hidden, const float* weight, const float* bias, const int32_t* targets,
                           int64_t rows, int64_t dim, int64_t vocab, const CrossEntropyOptions& opt,
                           const LinearCrossEntropyOutputs& out = {});

}  // namespace attn::kernels
