#include "attn/nn/attention/multi_head.h"

#include <cmath>

#include "attn/autograd/ops/attention.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/kernels/attention.h"

namespace attn::nn {
namespace {

using namespace autograd;

// Tensor-level concatenation along dim 2 of [B, H, L, D] (the cache grows by the new positions).
Tensor append_positions(const Tensor& cache, const Tensor& fresh) {
  if (!cache.defined()) return fresh.contiguous();
  Tensor out = Tensor::empty({cache.size(0), cache.size(1), cache.size(2) + fresh.size(2), cache.size(3)});
  out.slice(2, 0, cache.size(2)).copy_from(cache);
  out.slice(2, cache.size(2), out.size(2)).copy_from(fresh);
  return out;
}

void check_key_lengths(const AttentionMasking& masking, int64_t batch) {
  ATTN_CHECK(masking.key_lengths.empty() || int64_t(masking.key_lengths.size()) == batch,
             "MultiheadAttention: {} key lengths for a batch of {}", masking.key_lengths.size(), batch);
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, Rng& rng, float dropout, bool bias)
    : embed_dim_(embed_dim), num_heads_(num_heads), head_dim_(num_heads > 0 ? embed_dim / num_heads : 0) {
  ATTN_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0,
             "MultiheadAttention: embed_dim {} must be a positive multiple of num_heads {}", embed_dim, num_heads);
  // PyTorch: xavier_uniform_ on [3E, E] (fan_in E, fan_out 3E), zero biases.
  const float bound = std::sqrt(6.0f / float(embed_dim + 3 * embed_dim));
  Tensor w = Tensor::empty({3 * embed_dim, embed_dim});
  fill_uniform(rng, w.data(), w.numel(), -bound, bound);
  in_proj_weight = register_parameter("in_proj_weight", w);
  if (bias) in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, rng, bias));
  if (bias) out_proj->bias.value().fill(0.0f);
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout, rng));
}

Var MultiheadAttention::project(const Var& x, int64_t part, int64_t parts) const {
  ATTN_CHECK(x.value().dim() == 3 && x.size(2) == embed_dim_,
             "MultiheadAttention(embed_dim {}, heads {}): input of shape {} (need [batch, len, {}])", embed_dim_,
             num_heads_, shape_str(x.shape()), embed_dim_);
  if (parts == 3) return linear(x, in_proj_weight, in_proj_bias);
  const InProjRows rows = in_proj_rows(part, parts);
  return linear(x, rows.weight, rows.bias);
}

MultiheadAttention::InProjRows MultiheadAttention::in_proj_rows(int64_t part, int64_t parts) const {
  const int64_t begin = part * embed_dim_, end = (part + parts) * embed_dim_;
  auto make = [&] {
    return InProjRows{slice(in_proj_weight, 0, begin, end),
                      in_proj_bias.defined() ? slice(in_proj_bias, 0, begin, end) : Var(), {}};
  };
  if (grad_enabled()) return make();
  // Kept while in_proj_weight and in_proj_bias hold the same tensors: linear keeps its packed copy of a weight
  // on the weight's node, and a fresh slice per call (each decoding step) would repack it every time.
  auto identity = [](const Var& v) {
    return v.defined() ? v.value().content_key() : Tensor::ContentKey{};
  };
  std::array<Tensor::ContentKey, 2> from{identity(in_proj_weight), identity(in_proj_bias)};
  for (auto& key : from) key.version = 0;  // writes are the packed copy's concern, not the slice's
  std::lock_guard lock(in_proj_rows_mutex_);
  InProjRows& kept = in_proj_rows_[size_t(part * 2 + parts - 1)];
  if (!kept.weight.defined() || kept.from != from) {
    kept = make();
    kept.from = from;
  }
  return kept;
}

Var MultiheadAttention::split_heads(const Var& x) const {
  const int64_t batch = x.size(0), len = x.size(1);
  return contiguous(permute(reshape(x, {batch, len, num_heads_, head_dim_}), {0, 2, 1, 3}));
}

Var MultiheadAttention::merge_heads(const Var& x, const Var& residual) const {
  const int64_t batch = x.size(0), len = x.size(2);
  return out_proj->forward(reshape(permute(x, {0, 2, 1, 3}), {batch, len, embed_dim_}), {.residual = residual});
}

Var MultiheadAttention::attend(const Var& q, const Var& k, const Var& v, const AttentionMasking& masking,
                               Tensor* weights, bool per_head) {
  const int64_t batch = q.size(0), lq = q.size(2), lk = k.size(2);
  check_key_lengths(masking, batch);
  const float score_scale = 1.0f / std::sqrt(float(head_dim_));
  AttentionOptions opts{masking.key_lengths, masking.causal, score_scale,
                        dropout_->reserve(batch * num_heads_ * lq * lk)};
  if (weights) {
    Tensor w = attention_weights(q.value(), k.value(), opts);  // [B, H, Lq, Lk]
    if (per_head) {
      *weights = w;
    } else {  // the mean over heads, as nn.MultiheadAttention returns by default
      Tensor mean = Tensor::zeros({batch, lq, lk});
      const int64_t per = lq * lk;
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < num_heads_; ++h)
          for (int64_t i = 0; i < per; ++i)
            mean.data()[b * per + i] += w.data()[(b * num_heads_ + h) * per + i] / float(num_heads_);
      *weights = mean;
    }
  }
  return scaled_dot_product_attention(q, k, v, opts);
}

Var MultiheadAttention::forward(const Var& query, const Var& key, const Var& value, const AttentionMasking& masking,
                                Tensor* weights, bool per_head, const Var& residual) {
  ATTN_CHECK(key.value().dim() == 3 && value.shape() == key.shape() && query.value().dim() == 3 &&
                 query.size(0) == key.size(0),
             "MultiheadAttention(embed_dim {}, heads {}): query {}, key {}, value {} must be [B, Lq, E], [B, Lk, E], "
             "[B, Lk, E]",
             embed_dim_, num_heads_, shape_str(query.shape()), shape_str(key.shape()), shape_str(value.shape()));
  const bool self_attention = query.node() == key.node() && key.node() == value.node();
  if (self_attention && !weights) {
    if (!grad_enabled() && !dropout_->active()) return attend_in_place(query, masking, residual);
    return out_proj->forward(attend_packed(project(query, 0, 3), masking), {.residual = residual});
  }
  Var q, k, v;
  if (self_attention) {  // one GEMM for q, k, v
    const int64_t batch = query.size(0), len = query.size(1);
    Var qkv = contiguous(permute(reshape(project(query, 0, 3), {batch, len, 3, num_heads_, head_dim_}),
                                 {2, 0, 3, 1, 4}));  // [3, B, H, L, D]
    const Shape head_shape{batch, num_heads_, len, head_dim_};
    q = reshape(slice(qkv, 0, 0, 1), head_shape);
    k = reshape(slice(qkv, 0, 1, 2), head_shape);
    v = reshape(slice(qkv, 0, 2, 3), head_shape);
  } else {
    q = split_heads(project(query, 0));
    k = split_heads(project(key, 1));
    v = split_heads(project(value, 2));
  }
  return merge_heads(attend(q, k, v, masking, weights, per_head), residual);
}

Var MultiheadAttention::attend_packed(const Var& qkv, const AttentionMasking& masking) {
  const int64_t batch = qkv.size(0), len = qkv.size(1);
  check_key_lengths(masking, batch);
  const AttentionOptions opts{masking.key_lengths, masking.causal, 1.0f / std::sqrt(float(head_dim_)),
                              dropout_->reserve(batch * num_heads_ * len * len)};
  return self_attention_packed(qkv, num_heads_, opts);
}

Var MultiheadAttention::attend_in_place(const Var& x, const AttentionMasking& masking, const Var& residual) {
  const int64_t batch = x.size(0), len = x.size(1), e = embed_dim_, d = head_dim_;
  check_key_lengths(masking, batch);
  const Tensor qkv = project(x, 0, 3).value();  // [B, L, 3, H, D]
  Tensor out = Tensor::empty({batch, len, e});  // [B, L, H, D]
  const kernels::HeadStrides in{len * 3 * e, d, 3 * e}, written{len * e, d, e};
  const int32_t* lengths = masking.key_lengths.empty() ? nullptr : masking.key_lengths.data();
  kernels::attention_forward_strided({batch, num_heads_, len, len, d}, qkv.data(), qkv.data() + e,
                                     qkv.data() + 2 * e, {in, in, in, written}, {lengths, masking.causal},
                                     1.0f / std::sqrt(float(d)), out.data(), nullptr);
  return out_proj->forward(Var(out), {.residual = residual});
}

Var MultiheadAttention::forward_incremental(const Var& x, KVCache& cache, Tensor* weights) {
  Var q = split_heads(project(x, 0));
  cache.k = append_positions(cache.k, split_heads(project(x, 1)).value());
  cache.v = append_positions(cache.v, split_heads(project(x, 2)).value());
  AttentionMasking causal{{}, true};
  return merge_heads(attend(q, Var(cache.k), Var(cache.v), causal, weights, false));
}

Var MultiheadAttention::forward_cross_cached(const Var& query, const Var& memory, KVCache& cache,
                                             std::span<const int32_t> key_lengths, Tensor* weights, bool per_head) {
  if (!cache.k.defined()) {
    cache.k = split_heads(project(memory, 1)).value();
    cache.v = split_heads(project(memory, 2)).value();
  }
  return merge_heads(attend(split_heads(project(query, 0)), Var(cache.k), Var(cache.v), {key_lengths, false},
                            weights, per_head));
}

}  // namespace attn::nn
