#include "attn/nn/attention/common.h"

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/attention.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"

namespace attn::nn {

using namespace autograd;

ScoreMask score_mask(const AttentionMasking& masking) { return {masking.key_lengths, masking.causal}; }

void check_attention_args(const std::string& who, const Var& query, const Var& keys, const Var& values,
                          const AttentionMasking& masking, int64_t query_dim, int64_t key_dim) {
  ATTN_CHECK(query.defined() && keys.defined() && values.defined(), "{}: undefined query, keys or values", who);
  const Shape &q = query.shape(), &k = keys.shape(), &v = values.shape();
  const bool ok = (q.size() == 2 || q.size() == 3) && k.size() == 3 && v.size() == 3 && q[0] == k[0] && v[0] == k[0] &&
                  v[1] == k[1] && (query_dim < 0 || q.back() == query_dim) && (key_dim < 0 || k[2] == key_dim) &&
                  query.numel() > 0 && keys.numel() > 0 && values.numel() > 0;
  ATTN_CHECK(ok,
             "{}: query {}, keys {}, values {} (need [B, {}] or [B, Lq, {}], [B, Lk, {}], [B, Lk, Dv], all non-empty)",
             who, shape_str(q), shape_str(k), shape_str(v), query_dim < 0 ? "Dq" : std::to_string(query_dim),
             query_dim < 0 ? "Dq" : std::to_string(query_dim), key_dim < 0 ? "Dk" : std::to_string(key_dim));
  check_key_lengths(who, masking.key_lengths, k);
}

void check_key_lengths(const std::string& who, std::span<const int32_t> key_lengths, const Shape& keys) {
  ATTN_CHECK(key_lengths.empty() || int64_t(key_lengths.size()) == keys[0], "{}: {} key lengths for keys of shape {}",
             who, key_lengths.size(), shape_str(keys));
  for (size_t b = 0; b < key_lengths.size(); ++b) {
    ATTN_CHECK(key_lengths[b] >= 0 && key_lengths[b] <= keys[1],
               "{}: key length {} of batch element {} is outside [0, {}] (keys {})", who, key_lengths[b], b, keys[1],
               shape_str(keys));
  }
}

Var query_as_sequence(const Var& query) {
  return query.value().dim() == 2 ? reshape(query, {query.size(0), 1, query.size(1)}) : query;
}

Var weighted_sum(const Var& weights, const Var& values, bool single_query, Tensor* weights_out) {
  Var context = matmul(weights, values);  // [B, Lq, Lk] x [B, Lk, Dv] -> [B, Lq, Dv]
  if (weights_out) {
    *weights_out = single_query ? weights.value().reshape({weights.size(0), weights.size(2)}) : weights.value();
  }
  return single_query ? reshape(context, {context.size(0), context.size(2)}) : context;
}

Var attend(const Var& scores, const Var& values, const AttentionMasking& masking, bool single_query,
           Tensor* weights_out) {
  return weighted_sum(masked_softmax(scores, score_mask(masking)), values, single_query, weights_out);
}

Var dot_scores(const Var& q, const Var& k, float scale) {
  Var s = matmul(q, contiguous(transpose(k, 1, 2)));  // [B, Lq, D] x [B, D, Lk]
  return scale == 1.0f ? s : autograd::scale(s, scale);
}

Var dot_product_attend(const Var& q, const Var& k, const Var& v, float scale, const AttentionMasking& masking,
                       bool single_query, Tensor* weights_out) {
  if (v.shape() != k.shape()) return attend(dot_scores(q, k, scale), v, masking, single_query, weights_out);
  // One head of the fused kernel: [B, L, D] seen as [B, 1, L, D].
  const int64_t batch = q.size(0), lq = q.size(1), lk = k.size(1), d = q.size(2);
  const AttentionOptions opts{masking.key_lengths, masking.causal, scale};
  Var out = scaled_dot_product_attention(reshape(q, {batch, 1, lq, d}), reshape(k, {batch, 1, lk, d}),
                                         reshape(v, {batch, 1, lk, d}), opts);
  if (weights_out) {
    Tensor w = attention_weights(q.value().reshape({batch, 1, lq, d}), k.value().reshape({batch, 1, lk, d}), opts);
    *weights_out = single_query ? w.reshape({batch, lk}) : w.reshape({batch, lq, lk});
  }
  return single_query ? reshape(out, {batch, d}) : reshape(out, {batch, lq, d});
}

}  // namespace attn::nn
