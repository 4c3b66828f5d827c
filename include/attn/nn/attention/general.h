// Luong general attention: score(q, k_j) = q^T W k_j (times 1/sqrt(Dq) when scaled), softmax over the valid keys,
// context = sum_j a_j value_j. Parameter: W.weight [query_dim, key_dim] (a bias-free Linear from keys to the
// query space, so W k_j is computed once per key rather than per query).
#pragma once
#include <memory>

#include "attn/core/rng.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/linear.h"
#include "attn/nn/module.h"

namespace attn::nn {

class GeneralAttention : public Module {
 public:
  GeneralAttention(int64_t query_dim, int64_t key_dim, Rng& rng, bool scaled = false);

  // query [B, Dq] or [B, Lq, Dq], keys [B, Lk, Dk], values [B, Lk, Dv] -> context [B, Dv] or [B, Lq, Dv];
  // weights, when given, receives [B, Lk] or [B, Lq, Lk].
  Var forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking = {},
              Tensor* weights = nullptr) const;

  std::shared_ptr<Linear> w;  // registered as "W"

 private:
  int64_t query_dim_, key_dim_;
  bool scaled_;
};

}  // namespace attn::nn
