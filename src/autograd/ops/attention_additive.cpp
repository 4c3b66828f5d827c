#include "attn/autograd/ops/attention_additive.h"

#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/attention_additive.h"

namespace attn::autograd {

Var additive_scores(const Var& qp, const Var& kp, const Var& v, const ScoreMask& mask) {
  check_nonempty("additive_scores", {qp, kp, v});
  Tensor qv = qp.value().contiguous(), kv = kp.value().contiguous(), vv = v.value().contiguous();
  ATTN_CHECK(qv.dim() == 3 && kv.dim() == 3 && qv.size(0) == kv.size(0) && qv.size(2) == kv.size(2) &&
                 vv.shape() == Shape{qv.size(2)},
             "additive_scores: qp {}, kp {}, v {} must be [B, Lq, H], [B, Lk, H], [H]", shape_str(qv.shape()),
             shape_str(kv.shape()), shape_str(vv.shape()));
  ATTN_CHECK(mask.key_lengths.empty() || int64_t(mask.key_lengths.size()) == qv.size(0),
             "additive_scores: {} key lengths for a batch of {}", mask.key_lengths.size(), qv.size(0));
  const kernels::AttentionShape s{qv.size(0), 1, qv.size(1), kv.size(1), qv.size(2)};
  std::vector<int32_t> lengths(mask.key_lengths.begin(), mask.key_lengths.end());
  const bool causal = mask.causal;
  Tensor scores = Tensor::empty({s.batch, s.len_q, s.len_k});
  kernels::additive_scores_forward(s, qv.data(), kv.data(), vv.data(),
                                   {lengths.empty() ? nullptr : lengths.data(), causal}, scores.data());
  return make_result("additive_scores", std::move(scores), {qp, kp, v}, [=, lengths = std::move(lengths)](Node& n) {
    Tensor dq = Tensor::empty(qv.shape()), dk = Tensor::empty(kv.shape()), dv = Tensor::empty(vv.shape());
    Tensor g = n.grad.contiguous();
    kernels::additive_scores_backward(s, qv.data(), kv.data(), vv.data(),
                                      {lengths.empty() ? nullptr : lengths.data(), causal}, g.data(), dq.data(),
                                      dk.data(), dv.data());
    if (n.inputs[0]->requires_grad) accumulate_grad(*n.inputs[0], std::move(dq));
    if (n.inputs[1]->requires_grad) accumulate_grad(*n.inputs[1], std::move(dk));
    if (n.inputs[2]->requires_grad) accumulate_grad(*n.inputs[2], std::move(dv));
  });
}

}  // namespace attn::autograd
