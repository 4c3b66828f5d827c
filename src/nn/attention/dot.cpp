#include "attn/nn/attention/dot.h"

#include <cmath>

#include "attn/core/error.h"
#include "attn/nn/attention/common.h"

namespace attn::nn {

Var DotAttention::forward(const Var& query, const Var& keys, const Var& values, const AttentionMasking& masking,
                          Tensor* weights) const {
  const std::string who = scaled_ ? "DotAttention(scaled)" : "DotAttention";
  check_attention_args(who, query, keys, values, masking);
  ATTN_CHECK(query.shape().back() == keys.size(2), "{}: query {} and keys {} need the same last dimension", who,
             shape_str(query.shape()), shape_str(keys.shape()));
  const float scale = scaled_ ? 1.0f / std::sqrt(float(keys.size(2))) : 1.0f;
  return dot_product_attend(query_as_sequence(query), keys, values, scale, masking, query.value().dim() == 2, weights);
}

}  // namespace attn::nn
