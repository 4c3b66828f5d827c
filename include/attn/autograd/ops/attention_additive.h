// Bahdanau (additive) attention scores as one op: score[b,i,j] = v . tanh(qp[b,i] + kp[b,j]) from projected
// queries qp = W q and keys kp = U k (+ bias). Keys hidden by the mask are skipped (score 0, no gradient); mask
// the softmax that follows with the same mask.
#pragma once
#include "attn/autograd/ops/attention_masking.h"
#include "attn/autograd/var.h"

namespace attn::autograd {

// qp [B, Lq, H], kp [B, Lk, H], v [H] -> scores [B, Lq, Lk].
Var additive_scores(const Var& qp, const Var& kp, const Var& v, const ScoreMask& mask = {});

}  // namespace attn::autograd
