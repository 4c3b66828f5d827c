// Luong dot attention: score(q, k_j) = q . k_j (times 1/sqrt(D) when scaled), softmax over the valid keys,
// context = sum_j a_j value_j. No parameters. Runs through the fused attention kernel when values have the
// keys' shape.
#pragma once
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/module.h"

namespace attn::nn {

class DotAttention : public Module {
 public:
  explicit DotAttention(bool scaled = false) : scaled_(scaled) {}

  // query [B, D] or [B, Lq, D], keys [B, Lk, D], values [B, Lk, Dv] -> context [B, Dv] or [B, Lq, Dv]; weights,
  // when given, receives [B, Lk] or [B, Lq, Lk].
  Var forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking = {},
              Tensor* weights = nullptr) const;

 private:
  bool scaled_;
};

}  // namespace attn::nn
