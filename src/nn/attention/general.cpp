#include "attn/nn/attention/general.h"

#include <cmath>

#include "attn/core/error.h"
#include "attn/nn/attention/common.h"

namespace attn::nn {

GeneralAttention::GeneralAttention(int64_t query_dim, int64_t key_dim, Rng& rng, bool scaled)
    : query_dim_(query_dim), key_dim_(key_dim), scaled_(scaled) {
  ATTN_CHECK(query_dim > 0 && key_dim > 0, "GeneralAttention: sizes must be positive, got query {}, key {}", query_dim,
             key_dim);
  w = register_module("W", std::make_shared<Linear>(key_dim, query_dim, rng, false));
}

Var GeneralAttention::forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking,
                              Tensor* weights) const {
  check_attention_args(fmt::format("GeneralAttention(query {}, key {})", query_dim_, key_dim_), query, keys, values,
                       masking, query_dim_, key_dim_);
  const float scale = scaled_ ? 1.0f / std::sqrt(float(query_dim_)) : 1.0f;
  // q^T W k_j = q . (W k_j): [B, Lk, Dk] -> [B, Lk, Dq]
  return dot_product_attend(query_as_sequence(query), w->forward(keys), values, scale, masking,
                            query.value().dim() == 2, weights);
}

}  // namespace attn::nn
