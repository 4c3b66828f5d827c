#include "attn/nn/attention/hard.h"

#include <cmath>

#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/common.h"

namespace attn::nn {

HardAttention::HardAttention(int64_t k, TopKWeighting weighting, bool scaled)
    : k_(k), weighting_(weighting), scaled_(scaled) {
  ATTN_CHECK(k >= 1, "HardAttention: k must be at least 1, got {}", k);
}

std::string HardAttention::name() const {
  return fmt::format("HardAttention(k {}, {})", k_, weighting_ == TopKWeighting::kMean ? "mean" : "softmax");
}

Var HardAttention::forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking,
                           Tensor* weights) const {
  check_attention_args(name(), query, keys, values, masking);
  ATTN_CHECK(query.shape().back() == keys.size(2), "{}: query {} and keys {} need the same last dimension", name(),
             shape_str(query.shape()), shape_str(keys.shape()));
  const float scale = scaled_ ? 1.0f / std::sqrt(float(keys.size(2))) : 1.0f;
  Var scores = dot_scores(query_as_sequence(query), keys, scale);  // [B, Lq, Lk]
  if (query.value().dim() == 2) scores = autograd::reshape(scores, {scores.size(0), scores.size(2)});
  return forward_scores(scores, values, masking, weights);
}

Var HardAttention::forward_scores(const Var& scores, const Var& values, const AttentionMasking& masking,
                                  Tensor* weights) const {
  ATTN_CHECK(
      scores.defined() && values.defined() && (scores.value().dim() == 2 || scores.value().dim() == 3) &&
          values.value().dim() == 3 && scores.size(0) == values.size(0) && scores.shape().back() == values.size(1),
      "{}: scores {} and values {} (need [B, Lk] or [B, Lq, Lk], and [B, Lk, Dv])", name(),
      scores.defined() ? shape_str(scores.shape()) : "none", values.defined() ? shape_str(values.shape()) : "none");
  check_key_lengths(name(), masking.key_lengths, values.shape());
  const bool single = scores.value().dim() == 2;
  const Var s3 = single ? autograd::reshape(scores, {scores.size(0), 1, scores.size(1)}) : scores;
  return weighted_sum(autograd::top_k_weights(s3, k_, weighting_, score_mask(masking)), values, single, weights);
}

}  // namespace attn::nn
