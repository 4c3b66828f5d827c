#include "attn/autograd/ops/layer_norm.h"

#include "attn/core/error.h"
#include "attn/kernels/layer_norm.h"

namespace attn::autograd {

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps) {
  check_nonempty("layer_norm", {x, gamma, beta});
  Tensor xv = x.value().contiguous();
  const int64_t n = xv.shape().back(), rows = leading_rows(xv.shape());
  for (const Var* p : {&gamma, &beta}) {
    ATTN_CHECK(!p->defined() || p->shape() == Shape{n}, "layer_norm: input {} needs gamma/beta of shape [{}], got {}",
               shape_str(xv.shape()), n, shape_str(p->shape()));
  }
  Tensor g = gamma.defined() ? gamma.value().contiguous() : Tensor();
  Tensor b = beta.defined() ? beta.value().contiguous() : Tensor();
  Tensor y = Tensor::empty(xv.shape()), mean = Tensor::empty({rows}), rstd = Tensor::empty({rows});
  kernels::layer_norm_forward(rows, n, xv.data(), g.defined() ? g.data() : nullptr, b.defined() ? b.data() : nullptr,
                              eps, y.data(), mean.data(), rstd.data());
  std::vector<Var> inputs{x};
  if (gamma.defined()) inputs.push_back(gamma);
  if (beta.defined()) inputs.push_back(beta);
  const bool has_gamma = gamma.defined(), has_beta = beta.defined();
  return make_result("layer_norm", std::move(y), inputs, [=](Node& node) {
    Tensor dx = Tensor::empty(xv.shape());
    Tensor dg = Tensor::zeros({n}), db = Tensor::zeros({n});
    kernels::layer_norm_backward(rows, n, xv.data(), has_gamma ? g.data() : nullptr, mean.data(), rstd.data(),
                                 node.grad.data(), dx.data(), dg.data(), db.data());
    accumulate_grad(*node.inputs[0], std::move(dx));
    if (has_gamma && node.inputs[1]->requires_grad) accumulate_grad(*node.inputs[1], std::move(dg));
    if (has_beta && node.inputs.back()->requires_grad) accumulate_grad(*node.inputs.back(), std::move(db));
  });
}

}  // namespace attn::autograd
