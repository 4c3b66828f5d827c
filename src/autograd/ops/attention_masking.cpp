#include "attn/autograd/ops/attention_masking.h"

#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/attention_masking.h"
#include "attn/kernels/softmax.h"

namespace attn::autograd {
namespace {

kernels::AttentionShape score_shape(const char* op, const Var& scores, const ScoreMask& mask) {
  const Shape& s = scores.shape();
  ATTN_CHECK(s.size() >= 2 && s.size() <= 4, "{}: scores of shape {} (need [B, Lk], [B, Lq, Lk] or [B, H, Lq, Lk])", op,
             shape_str(s));
  ATTN_CHECK(mask.key_lengths.empty() || int64_t(mask.key_lengths.size()) == s[0],
             "{}: {} key lengths for scores of shape {}", op, mask.key_lengths.size(), shape_str(s));
  const int64_t heads = s.size() == 4 ? s[1] : 1, len_q = s.size() >= 3 ? s[s.size() - 2] : 1;
  kernels::AttentionShape shape{s[0], heads, len_q, s.back(), 0};
  kernels::check_score_args(op, shape, {mask.key_lengths.empty() ? nullptr : mask.key_lengths.data(), mask.causal});
  return shape;
}

// Both weightings share the backward: softmax's over whole rows (zero weights pass no gradient).
Var weights_result(const char* op, Tensor weights, const Var& scores, bool differentiable) {
  Tensor saved = weights;
  return make_result(op, std::move(weights), {scores}, [saved, differentiable](Node& n) {
    Tensor ds = Tensor::zeros(saved.shape());
    if (differentiable) {
      Tensor g = n.grad.contiguous();
      kernels::softmax_backward(saved.data(), g.data(), ds.data(), leading_rows(saved.shape()), saved.shape().back(),
                                1);
    }
    accumulate_grad(*n.inputs[0], std::move(ds));
  });
}

}  // namespace

Var masked_softmax(const Var& scores, const ScoreMask& mask) {
  const kernels::AttentionShape s = score_shape("masked_softmax", scores, mask);
  Tensor x = scores.value().contiguous();
  Tensor w = Tensor::empty(x.shape());
  kernels::masked_softmax_forward(
      s, x.data(), {mask.key_lengths.empty() ? nullptr : mask.key_lengths.data(), mask.causal}, w.data());
  return weights_result("masked_softmax", std::move(w), scores, true);
}

Var top_k_weights(const Var& scores, int64_t k, TopKWeighting weighting, const ScoreMask& mask) {
  const kernels::AttentionShape s = score_shape("top_k_weights", scores, mask);
  ATTN_CHECK(k >= 1, "top_k_weights: k must be at least 1, got {} (scores {})", k, shape_str(scores.shape()));
  Tensor x = scores.value().contiguous();
  Tensor w = Tensor::empty(x.shape());
  const bool soft = weighting == TopKWeighting::kSoftmax;
  kernels::top_k_weights_forward(
      s, x.data(), {mask.key_lengths.empty() ? nullptr : mask.key_lengths.data(), mask.causal}, k, soft, w.data());
  return weights_result("top_k_weights", std::move(w), scores, soft);
}

}  // namespace attn::autograd
