#include "attn/autograd/ops/activation.h"

namespace attn::autograd {
namespace {

using Forward = void (*)(int64_t, const float*, float*);
using Backward = void (*)(int64_t, const float*, const float*, float*);

// tanh, sigmoid and relu differentiate from their output, so only the output is kept.
Var from_output(const char* op, const Var& x, Forward forward, Backward backward) {
  check_nonempty(op, {x});
  Tensor xv = x.value().contiguous();
  Tensor y = Tensor::empty(xv.shape());
  forward(xv.numel(), xv.data(), y.data());
  Tensor saved = y;
  return make_result(op, std::move(y), {x}, [saved, backward](Node& n) {
    Tensor dx = Tensor::empty(saved.shape());
    backward(saved.numel(), saved.data(), n.grad.data(), dx.data());
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

}  // namespace

Var tanh(const Var& x) { return from_output("tanh", x, kernels::tanh_forward, kernels::tanh_backward); }
Var sigmoid(const Var& x) { return from_output("sigmoid", x, kernels::sigmoid_forward, kernels::sigmoid_backward); }
Var relu(const Var& x) { return from_output("relu", x, kernels::relu_forward, kernels::relu_backward); }

Var gelu(const Var& x, kernels::GeluApprox approx) {
  check_nonempty("gelu", {x});
  Tensor xv = x.value().contiguous();
  Tensor y = Tensor::empty(xv.shape());
  kernels::gelu_forward(xv.numel(), xv.data(), y.data(), approx);
  return make_result("gelu", std::move(y), {x}, [xv, approx](Node& n) {
    Tensor dx = Tensor::empty(xv.shape());
    kernels::gelu_backward(xv.numel(), xv.data(), n.grad.data(), dx.data(), approx);
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

}  // namespace attn::autograd
