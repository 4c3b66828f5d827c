#include "attn/nn/positional/relative.h"

#include <cmath>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/attention_masking.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/positional_relative.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/nn/attention/common.h"

namespace attn::nn {

using namespace autograd;

RelativeSelfAttention::RelativeSelfAttention(int64_t embed_dim, int64_t num_heads, int64_t max_distance, Rng& rng,
                                             bool bias)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      head_dim_(num_heads > 0 ? embed_dim / num_heads : 0),
      max_distance_(max_distance) {
  ATTN_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0 && max_distance >= 0,
             "RelativeSelfAttention: embed_dim {} must be a positive multiple of num_heads {}, max_distance {} >= 0",
             embed_dim, num_heads, max_distance);
  q_proj = register_module("q_proj", std::make_shared<Linear>(embed_dim, embed_dim, rng, bias));
  k_proj = register_module("k_proj", std::make_shared<Linear>(embed_dim, embed_dim, rng, bias));
  v_proj = register_module("v_proj", std::make_shared<Linear>(embed_dim, embed_dim, rng, bias));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, rng, bias));
  // Xavier-uniform, as Shaw et al.'s tensor2tensor code initialises the relative tables.
  const int64_t buckets = 2 * max_distance + 1;
  const float bound = std::sqrt(6.0f / float(buckets + head_dim_));
  Tensor rk = Tensor::empty({buckets, head_dim_}), rv = Tensor::empty({buckets, head_dim_});
  fill_uniform(rng, rk.data(), rk.numel(), -bound, bound);
  fill_uniform(rng, rv.data(), rv.numel(), -bound, bound);
  relative_key = register_parameter("relative_key", rk);
  relative_value = register_parameter("relative_value", rv);
}

std::string RelativeSelfAttention::name() const {
  return fmt::format("RelativeSelfAttention(embed_dim {}, heads {}, max_distance {})", embed_dim_, num_heads_,
                     max_distance_);
}

Var RelativeSelfAttention::forward(const Var& x, const AttentionMasking& masking, Tensor* weights) const {
  ATTN_CHECK(x.defined() && x.value().dim() == 3 && x.size(2) == embed_dim_ && x.numel() > 0,
             "{}: input of shape {} (need [B, L, {}])", name(), x.defined() ? shape_str(x.shape()) : "none",
             embed_dim_);
  check_key_lengths(name(), masking.key_lengths, x.shape());
  const int64_t batch = x.size(0), len = x.size(1), bh = batch * num_heads_;
  // [B, L, E] -> [B*H, L, D]
  auto split = [&](const Var& y) {
    return reshape(contiguous(permute(reshape(y, {batch, len, num_heads_, head_dim_}), {0, 2, 1, 3})),
                   {bh, len, head_dim_});
  };
  const Var q = split(q_proj->forward(x)), k = split(k_proj->forward(x)), v = split(v_proj->forward(x));
  // e = (q k^T + gather(q a^K^T)) / sqrt(D): the per-distance products are [B*H, L, 2K+1], spread over the grid.
  const Var content = matmul(q, contiguous(transpose(k, 1, 2)));                  // [BH, L, L]
  const Var per_distance = matmul(q, contiguous(transpose(relative_key, 0, 1)));  // [BH, L, 2K+1]
  const Var position = relative_gather(per_distance, len, max_distance_);         // [BH, L, L]
  const Var scores = scale(add(content, position), 1.0f / std::sqrt(float(head_dim_)));
  const Var a = masked_softmax(reshape(scores, {batch, num_heads_, len, len}), score_mask(masking));
  if (weights) *weights = a.value();
  // z = a v + (weights summed per distance) a^V
  const Var a3 = reshape(a, {bh, len, len});
  const Var z = add(matmul(a3, v), matmul(relative_scatter(a3, max_distance_), relative_value));  // [BH, L, D]
  const Var merged =
      reshape(permute(reshape(z, {batch, num_heads_, len, head_dim_}), {0, 2, 1, 3}), {batch, len, embed_dim_});
  return out_proj->forward(merged);
}

}  // namespace attn::nn
