#include "attn/autograd/ops/arithmetic.h"

#include "attn/kernels/elementwise.h"

namespace attn::autograd {
namespace {

using kernels::BinaryOp;

Var binary(BinaryOp op, const Var& a, const Var& b) {
  const char* name = kernels::binary_op_name(op);
  Tensor av = a.value().contiguous(), bv = b.value().contiguous();
  Tensor out = Tensor::empty(kernels::broadcast_shape(name, av.shape(), bv.shape()));
  kernels::binary(op, av.data(), av.shape(), bv.data(), bv.shape(), out.data());
  return make_result(name, std::move(out), {a, b}, [op, av, bv](Node& n) {
    if (op == BinaryOp::kAdd && av.shape() == bv.shape()) {  // both gradients are the output's: one copy at most
      Tensor g = take_grad(n).contiguous();
      const bool to_a = n.inputs[0]->requires_grad, to_b = n.inputs[1]->requires_grad;
      if (to_a && to_b) accumulate_grad(*n.inputs[1], static_cast<const Tensor&>(g));  // copied
      accumulate_grad(*n.inputs[to_a ? 0 : 1], std::move(g));
      return;
    }
    Tensor da = Tensor::empty(av.shape()), db = Tensor::empty(bv.shape());
    Tensor g = n.grad.contiguous();
    kernels::binary_backward(op, av.data(), av.shape(), bv.data(), bv.shape(), g.data(), da.data(), db.data());
    if (n.inputs[0]->requires_grad) accumulate_grad(*n.inputs[0], std::move(da));
    if (n.inputs[1]->requires_grad) accumulate_grad(*n.inputs[1], std::move(db));
  });
}

}  // namespace

Var add(const Var& a, const Var& b) { return binary(BinaryOp::kAdd, a, b); }
Var sub(const Var& a, const Var& b) { return binary(BinaryOp::kSub, a, b); }
Var mul(const Var& a, const Var& b) { return binary(BinaryOp::kMul, a, b); }
Var div(const Var& a, const Var& b) { return binary(BinaryOp::kDiv, a, b); }

Var scale(const Var& x, float alpha) {
  Tensor xv = x.value().contiguous();
  Tensor out = Tensor::empty(xv.shape());
  kernels::scale(xv.numel(), xv.data(), alpha, out.data());
  return make_result("scale", std::move(out), {x}, [alpha](Node& n) {
    Tensor dx = Tensor::empty(n.grad.shape());
    kernels::scale(dx.numel(), n.grad.data(), alpha, dx.data());
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

Var add_scalar(const Var& x, float c) {
  Tensor xv = x.value().contiguous();
  Tensor out = Tensor::empty(xv.shape());
  kernels::add_scalar(xv.numel(), xv.data(), c, out.data());
  return make_result("add_scalar", std::move(out), {x}, [](Node& n) { accumulate_grad(*n.inputs[0], take_grad(n)); });
}

}  // namespace attn::autograd
