#include "attn/autograd/ops/attention.h"

#include <cmath>
#include <utility>
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

// The forward through the strided kernel and the node whose backward writes the gradients where q, k and v lie
// (all three in one tensor for the packed op). `inputs` are q, k, v, or the packed q/k/v alone.
struct Operands {
  Tensor q, k, v;              // the tensors the heads lie in
  int64_t k_offset, v_offset;  // of k's and v's first element inside their tensors
  kernels::AttentionStrides strides;
};

Var attention_node(const char* op, const std::vector<Var>& inputs, const Operands& in,
                   const kernels::AttentionShape& s, const AttentionOptions& options, const Shape& out_shape) {
  std::vector<int32_t> lengths(options.key_lengths.begin(), options.key_lengths.end());
  const bool causal = options.causal;
  const float scale = scale_of(options, s.head_dim);
  const kernels::DropoutDraws dropout = options.dropout;
  const float* q = std::as_const(in.q).data();
  const float* k = std::as_const(in.k).data() + in.k_offset;
  const float* v = std::as_const(in.v).data() + in.v_offset;
  Tensor out = Tensor::empty(out_shape), lse = Tensor::empty({s.batch, s.heads, s.len_q});
  kernels::attention_forward_strided(s, q, k, v, in.strides, {lengths.empty() ? nullptr : lengths.data(), causal},
                                     scale, out.data(), lse.data(), dropout);
  Tensor saved_out = out;
  return make_result(op, std::move(out), inputs, [=, lengths = std::move(lengths)](Node& n) {
    const kernels::AttentionMask m{lengths.empty() ? nullptr : lengths.data(), causal};
    const float *q = std::as_const(in.q).data(), *k = std::as_const(in.k).data() + in.k_offset,
                *v = std::as_const(in.v).data() + in.v_offset;
    Tensor dq = Tensor::empty(in.q.shape());
    const bool packed = n.inputs.size() == 1;  // dq, dk and dv share one tensor, as q, k and v do
    Tensor dk = packed ? dq : Tensor::empty(in.k.shape());
    Tensor dv = packed ? dq : Tensor::empty(in.v.shape());
    kernels::attention_backward_strided(s, q, k, v, std::as_const(saved_out).data(), std::as_const(n.grad).data(),
                                        std::as_const(lse).data(), in.strides, m, scale, dq.data(),
                                        dk.data() + in.k_offset, dv.data() + in.v_offset, dropout);
    accumulate_grad(*n.inputs[0], std::move(dq));
    if (!packed) {
      accumulate_grad(*n.inputs[1], std::move(dk));
      accumulate_grad(*n.inputs[2], std::move(dv));
    }
  });
}

}  // namespace

Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& options) {
  Tensor qv = q.value().contiguous(), kv = k.value().contiguous(), vv = v.value().contiguous();
  const kernels::AttentionShape s = attention_shape("attention", qv, kv, &vv, options);
  return attention_node("attention", {q, k, v}, {qv, kv, vv, 0, 0, kernels::contiguous_strides(s)}, s, options,
                        qv.shape());
}

Var self_attention_packed(const Var& qkv, int64_t heads, const AttentionOptions& options) {
  Tensor x = qkv.value().contiguous();
  ATTN_CHECK(x.dim() == 3 && heads > 0 && x.size(2) > 0 && x.size(2) % (3 * heads) == 0,
             "self_attention_packed: qkv {} must be [B, L, 3 E] with E a positive multiple of {} heads",
             shape_str(x.shape()), heads);
  const int64_t batch = x.size(0), len = x.size(1), e = x.size(2) / 3;
  ATTN_CHECK(options.key_lengths.empty() || int64_t(options.key_lengths.size()) == batch,
             "self_attention_packed: {} key lengths for a batch of {}", options.key_lengths.size(), batch);
  const kernels::AttentionShape s{batch, heads, len, len, e / heads};
  const kernels::HeadStrides in{len * 3 * e, s.head_dim, 3 * e}, merged{len * e, s.head_dim, e};
  return attention_node("self_attention_packed", {qkv}, {x, x, x, e, 2 * e, {in, in, in, merged}}, s, options,
                        {batch, len, e});
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
