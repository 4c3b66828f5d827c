// Hard attention: each query keeps only its k highest-scoring valid keys (k = 1: argmax; ties go to the lowest
// index; a sequence with fewer valid keys than k uses all of them). The output is the mean of the selected values
// (TopKWeighting::kMean: gradients reach the selected values only; the selection itself is not differentiable) or
// their softmax-renormalised combination (kSoftmax: gradients also reach the selected scores, hence query and
// keys). Scores are dot products (scaled by 1/sqrt(D) when scaled), or any scores through forward_scores.
#pragma once
#include "attn/autograd/ops/attention_masking.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/module.h"

namespace attn::nn {

using autograd::TopKWeighting;

class HardAttention : public Module {
 public:
  explicit HardAttention(int64_t k = 1, TopKWeighting weighting = TopKWeighting::kMean, bool scaled = true);

  // query [B, D] or [B, Lq, D], keys [B, Lk, D], values [B, Lk, Dv] -> [B, Dv] or [B, Lq, Dv]; weights, when
  // given, receives [B, Lk] or [B, Lq, Lk] (1/k' or the renormalised softmax on the selected keys, 0 elsewhere).
  Var forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking = {},
              Tensor* weights = nullptr) const;

  // The same selection over scores from any scorer: scores [B, Lk] or [B, Lq, Lk], values [B, Lk, Dv].
  Var forward_scores(const Var& scores, const Var& values, const AttentionMasking& masking = {},
                     Tensor* weights = nullptr) const;

  int64_t k() const { return k_; }

 private:
  std::string name() const;
  int64_t k_;
  TopKWeighting weighting_;
  bool scaled_;
};

}  // namespace attn::nn
