// Attention weights from scores under padding (key lengths) and causal masks: a masked softmax and a hard top-k
// selection. Masked keys get exactly 0 (no -inf enters the graph) and a query that sees no key gets zeros.
#pragma once
#include <span>

#include "attn/autograd/var.h"

namespace attn::autograd {

struct ScoreMask {
  std::span<const int32_t> key_lengths;  // one per batch element (dim 0); empty: every key is valid
  bool causal = false;                   // query i sees keys j <= i + (Lk - Lq)
};

// scores [B, Lk], [B, Lq, Lk] or [B, H, Lq, Lk] -> weights of the same shape (softmax over the last axis).
Var masked_softmax(const Var& scores, const ScoreMask& mask = {});

enum class TopKWeighting {
  kMean,     // each selected key gets 1/k': the weights carry no gradient to the scores
  kSoftmax,  // softmax over the selected keys' scores: gradients reach the selected scores
};

// Hard attention weights: per query, the k highest-scoring visible keys (ties: lowest index; every visible key
// when there are fewer than k) weighted as `weighting` says; every other key gets 0. Shapes as masked_softmax.
Var top_k_weights(const Var& scores, int64_t k, TopKWeighting weighting, const ScoreMask& mask = {});

}  // namespace attn::autograd
