#include "attn/autograd/ops/attention.h"

#include <cmath>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/attention.h"

namespace attn::autograd {
namespace {

kernels::AttentionShape attention_shape(const char* op, const Tensor& q, const Tensor& k, const Tensor* v,
                                        const AttentionOptions& o) {
  const bool ok = q.dim() == 4 && k.dim() == 4 && q.size(0) == k.size(0) && q.size(1) == k.size(1) &&
                  q.size(3) == k.size(3) && (!v || v->shape() == k.shape());
  ATTN_CHECK(ok, "{}: q {}, k {}, v {} must be [B, H, Lq, D], [B, H, Lk, D], [B, H, Lk, D]", op, shape_str(q.shape()),
             shape_str(k.shape()), v ? shape_str(v->shape()) : "-");
  ATTN_CHECK(o.key_lengths.empty() || int64_t(o.key_lengths.size()) == q.size(0),
             "{}: {} key lengths for a batch of {}", op, o.key_lengths.size(), q.size(0));
  return {q.size(0), q.size(1), q.size(2), k.size(2), q.size(3)};
}

float scale_of(const AttentionOptions& o, int64_t head_dim) {
  return o.scale != 0.0f ? o.scale : 1.0f / std::sqrt(float(head_dim));
}

}  // namespace

Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& options) {
  Tensor qv = q.value().contiguous(), kv = k.value().contiguous(), vv = v.value().contiguous();
  const kernels::AttentionShape s = attention_shape("attention", qv, kv, &vv, options);
  std::vector<int32_t> lengths(options.key_lengths.begin(), options.key_lengths.end());
  const bool causal = options.causal;
  const float scale = scale_of(options, s.head_dim);
  kernels::AttentionMask mask{lengths.empty() ? nullptr : lengths.data(), causal};
  Tensor out = Tensor::empty(qv.shape()), lse = Tensor::empty({s.batch, s.heads, s.len_q});
  kernels::attention_forward(s, qv.data(), kv.data(), vv.data(), mask, scale, out.data(), lse.data());
  Tensor saved_out = out;
  return make_result("attention", std::move(out), {q, k, v},
                     [=, lengths = std::move(lengths)](Node& n) {
                       kernels::AttentionMask m{lengths.empty() ? nullptr : lengths.data(), causal};
                       Tensor dq = Tensor::empty(qv.shape()), dk = Tensor::empty(kv.shape()),
                              dv = Tensor::empty(vv.shape());
                       kernels::attention_backward(s, qv.data(), kv.data(), vv.data(), saved_out.data(),
                                                   n.grad.data(), lse.data(), m, scale, dq.data(), dk.data(),
                                                   dv.data());
                       accumulate_grad(*n.inputs[0], std::move(dq));
                       accumulate_grad(*n.inputs[1], std::move(dk));
                       accumulate_grad(*n.inputs[2], std::move(dv));
                     });
}

Tensor attention_weights(const Tensor& q, const Tensor& k, const AttentionOptions& options) {
  Tensor qv = q.contiguous(), kv = k.contiguous();
  const kernels::AttentionShape s = attention_shape("attention_weights", qv, kv, nullptr, options);
  kernels::AttentionMask mask{options.key_lengths.empty() ? nullptr : options.key_lengths.data(), options.causal};
  Tensor weights = Tensor::empty({s.batch, s.heads, s.len_q, s.len_k});
  kernels::attention_with_weights(s, qv.data(), kv.data(), nullptr, mask, scale_of(options, s.head_dim), nullptr,
                                  weights.data());
  return weights;
}

}  // namespace attn::autograd
