#include "attn/nn/attention/additive.h"

#include "attn/autograd/ops/attention_additive.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/common.h"

namespace attn::nn {

AdditiveAttention::AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t hidden_dim, Rng& rng, bool bias)
    : query_dim_(query_dim), key_dim_(key_dim), hidden_dim_(hidden_dim) {
  ATTN_CHECK(query_dim > 0 && key_dim > 0 && hidden_dim > 0,
             "AdditiveAttention: sizes must be positive, got query {}, key {}, hidden {}", query_dim, key_dim,
             hidden_dim);
  w = register_module("W", std::make_shared<Linear>(query_dim, hidden_dim, rng, false));
  u = register_module("U", std::make_shared<Linear>(key_dim, hidden_dim, rng, bias));
  v = register_module("v", std::make_shared<Linear>(hidden_dim, 1, rng, false));
}

std::string AdditiveAttention::name() const {
  return fmt::format("AdditiveAttention(query {}, key {}, hidden {})", query_dim_, key_dim_, hidden_dim_);
}

Var AdditiveAttention::project_keys(const Var& keys) const {
  ATTN_CHECK(keys.defined() && keys.value().dim() == 3 && keys.size(2) == key_dim_,
             "{}: keys of shape {} (need [B, Lk, {}])", name(), keys.defined() ? shape_str(keys.shape()) : "none",
             key_dim_);
  return u->forward(keys);
}

Var AdditiveAttention::forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking,
                               Tensor* weights) const {
  check_attention_args(name(), query, keys, values, masking, query_dim_, key_dim_);
  return forward_projected(query, project_keys(keys), values, masking, weights);
}

Var AdditiveAttention::forward_projected(const Var& query, const Var& projected_keys, const Var& values,
                                         const AttentionMasking& masking, Tensor* weights) const {
  check_attention_args(name() + " (projected keys)", query, projected_keys, values, masking, query_dim_, hidden_dim_);
  const Var qp = w->forward(query_as_sequence(query));  // [B, Lq, hidden]
  const Var scores = autograd::additive_scores(qp, projected_keys, autograd::reshape(v->weight, {hidden_dim_}),
                                               score_mask(masking));  // [B, Lq, Lk]
  return attend(scores, values, masking, query.value().dim() == 2, weights);
}

}  // namespace attn::nn
