#include "attn/autograd/ops/linear_cross_entropy.h"

#include <utility>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/linear_cross_entropy.h"

namespace attn::autograd {

Var linear_cross_entropy(const Var& hidden, const Var& weight, const Var& bias, std::span<const int32_t> targets,
                         const kernels::CrossEntropyOptions& options) {
  ATTN_CHECK(hidden.defined() && weight.defined(), "linear_cross_entropy: hidden and weight must be defined");
  check_nonempty("linear_cross_entropy", {hidden, weight, bias});
  const Shape& hs = hidden.shape();
  const Shape& ws = weight.shape();
  ATTN_CHECK(ws.size() == 2 && !hs.empty() && hs.back() == ws[1],
             "linear_cross_entropy: hidden {} does not match weight {} ([vocab, dim])", shape_str(hs), shape_str(ws));
  ATTN_CHECK(!bias.defined() || bias.shape() == Shape{ws[0]}, "linear_cross_entropy: bias {} does not match weight {}",
             shape_str(bias.defined() ? bias.shape() : Shape{}), shape_str(ws));
  const int64_t rows = leading_rows(hs), dim = ws[1], vocab = ws[0];
  ATTN_CHECK(rows == int64_t(targets.size()),
             "linear_cross_entropy: hidden {} has {} rows but {} targets were given", shape_str(hs), rows,
             targets.size());
  Tensor hv = hidden.value().contiguous(), wv = weight.value().contiguous();
  Tensor bv = bias.defined() ? bias.value().contiguous() : Tensor();

  std::vector<Var> inputs{hidden, weight};
  if (bias.defined()) inputs.push_back(bias);
  const bool record = grad_enabled() && (hidden.requires_grad() || weight.requires_grad() || bias.requires_grad());
  auto grad_for = [record](const Var& v) { return record && v.requires_grad() ? Tensor::empty(v.shape()) : Tensor(); };
  Tensor dh = grad_for(hidden), dw = grad_for(weight), db = bias.defined() ? grad_for(bias) : Tensor();
  kernels::LinearCrossEntropyOutputs out;
  out.grad_hidden = dh.defined() ? dh.data() : nullptr;
  out.grad_weight = dw.defined() ? dw.data() : nullptr;
  out.grad_bias = db.defined() ? db.data() : nullptr;
  const float loss = kernels::linear_cross_entropy(hv.data(), wv.data(), bv.defined() ? bv.data() : nullptr,
                                                   targets.data(), rows, dim, vocab, options, out);
  return make_result("linear_cross_entropy", Tensor::full({}, loss), inputs,
                     [dh = std::move(dh), dw = std::move(dw), db = std::move(db)](Node& n) mutable {
                       const float g = n.grad.data()[0];
                       for (auto [i, grad] : {std::pair{size_t(0), &dh}, {size_t(1), &dw}, {size_t(2), &db}}) {
                         if (!grad->defined()) continue;
                         if (g != 1.0f) kernels::scale(grad->numel(), grad->data(), g, grad->data());
                         accumulate_grad(*n.inputs[i], std::move(*grad));
                       }
                     });
}

}  // namespace attn::autograd
