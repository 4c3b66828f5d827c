// Additive (Bahdanau) attention: score(q, k_j) = v^T tanh(W q + U k_j + b), softmax over the valid keys, context
// = sum_j a_j value_j. Parameters (PyTorch names): W.weight [hidden, query_dim], U.weight [hidden, key_dim],
// U.bias [hidden] (the b inside tanh; only with bias), v.weight [1, hidden]. A bias on v would shift every score
// equally and change nothing, so there is none.
#pragma once
#include <memory>

#include "attn/core/rng.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/linear.h"
#include "attn/nn/module.h"

namespace attn::nn {

class AdditiveAttention : public Module {
 public:
  AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t hidden_dim, Rng& rng, bool bias = true);

  // query [B, Dq] or [B, Lq, Dq], keys [B, Lk, Dk], values [B, Lk, Dv] -> context [B, Dv] or [B, Lq, Dv].
  // weights, when given, receives [B, Lk] or [B, Lq, Lk].
  Var forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking = {},
              Tensor* weights = nullptr) const;

  // A decoder attends to the same keys at every step: project them once (U keys + b, [B, Lk, hidden]) and call
  // forward_projected with the result.
  Var project_keys(const Var& keys) const;
  Var forward_projected(const Var& query, const Var& projected_keys, const Var& values,
                        const AttentionMasking& masking = {}, Tensor* weights = nullptr) const;

  std::shared_ptr<Linear> w, u, v;  // registered as "W", "U", "v"

 private:
  std::string name() const;
  int64_t query_dim_, key_dim_, hidden_dim_;
};

}  // namespace attn::nn
