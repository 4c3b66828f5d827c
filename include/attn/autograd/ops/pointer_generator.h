// The pointer-generator output distribution as an op: log(g softmax(logits) + (1 - g) copy(weights, ids)), where
// copy puts each source position's weight on its token (kernels/pointer_generator.h).
#pragma once
#include <span>

#include "attn/autograd/var.h"

namespace attn::autograd {

// logits [rows, vocab], gate [rows] or [rows, 1] in [0, 1], weights [rows, sources] (each row a distribution over
// the sources), ids: rows * sources tokens in [0, vocab) -> log-probabilities [rows, vocab].
Var pointer_generator_log_probs(const Var& logits, const Var& gate, const Var& weights, std::span<const int32_t> ids);

}  // namespace attn::autograd
