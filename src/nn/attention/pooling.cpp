#include "attn/nn/attention/pooling.h"

#include <cmath>

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/common.h"

namespace attn::nn {

using namespace autograd;

AttentionPooling::AttentionPooling(int64_t input_dim, int64_t attention_dim, Rng& rng)
    : input_dim_(input_dim), attention_dim_(attention_dim) {
  ATTN_CHECK(input_dim > 0 && attention_dim > 0, "AttentionPooling: sizes must be positive, got input {}, attention {}",
             input_dim, attention_dim);
  proj = register_module("proj", std::make_shared<Linear>(input_dim, attention_dim, rng));
  const float bound = 1.0f / std::sqrt(float(attention_dim));
  Tensor c = Tensor::empty({attention_dim});
  fill_uniform(rng, c.data(), c.numel(), -bound, bound);
  context = register_parameter("context", c);
}

Var AttentionPooling::forward(const Var& h, std::span<const int32_t> lengths, Tensor* weights) const {
  const std::string who = fmt::format("AttentionPooling(input {}, attention {})", input_dim_, attention_dim_);
  ATTN_CHECK(h.defined() && h.value().dim() == 3 && h.size(2) == input_dim_, "{}: input of shape {} (need [B, T, {}])",
             who, h.defined() ? shape_str(h.shape()) : "none", input_dim_);
  ATTN_CHECK(h.numel() > 0, "{}: empty input of shape {}", who, shape_str(h.shape()));
  check_key_lengths(who, lengths, h.shape());
  const int64_t batch = h.size(0), steps = h.size(1);
  const Var u = tanh(proj->forward(h));                                                             // [B, T, A]
  const Var scores = reshape(matmul(u, reshape(context, {attention_dim_, 1})), {batch, 1, steps});  // [B, 1, T]
  // The sequence is both the keys and the values of one learned query.
  return attend(scores, h, {lengths, false}, /*single_query=*/true, weights);
}

}  // namespace attn::nn
