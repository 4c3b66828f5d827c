#include "attn/autograd/ops/dropout.h"

#include <memory>
#include <utility>
#include <vector>

#include "attn/autograd/ops/activation.h"
#include "attn/kernels/dropout.h"

namespace attn::autograd {

kernels::DropoutDraws take_draws(Rng& rng, float p, int64_t n) {
  const kernels::DropoutDraws draws{p, rng.seed(), rng.counter()};
  rng.set_counter(rng.counter() + static_cast<uint64_t>(n));
  return draws;
}

Var dropout(const Var& x, float p, Rng& rng, bool training) {
  if (!training || p == 0.0f) return x;
  check_nonempty("dropout", {x});
  Tensor xv = x.value().contiguous();
  const int64_t n = xv.numel();
  Tensor y = Tensor::empty(xv.shape());
  auto mask = std::make_shared<std::vector<uint8_t>>(size_t(n));
  const kernels::DropoutDraws d = take_draws(rng, p, n);
  kernels::dropout_forward(n, xv.data(), p, d.seed, d.offset, y.data(), mask->data());
  return make_result("dropout", std::move(y), {x}, [mask, p, n](Node& node) {
    Tensor dx = Tensor::empty(node.grad.shape());
    kernels::dropout_backward(n, node.grad.data(), mask->data(), p, dx.data());
    accumulate_grad(*node.inputs[0], std::move(dx));
  });
}

Var relu_dropout(const Var& x, float p, Rng& rng, bool training) {
  if (!training || p == 0.0f) return relu(x);
  check_nonempty("relu_dropout", {x});
  Tensor xv = x.value().contiguous();
  const int64_t n = xv.numel();
  Tensor y = Tensor::empty(xv.shape());
  const kernels::DropoutDraws d = take_draws(rng, p, n);
  kernels::relu_dropout_forward(n, std::as_const(xv).data(), p, d.seed, d.offset, y.data());
  Tensor saved = y;
  return make_result("relu_dropout", std::move(y), {x}, [saved, p, n](Node& node) {
    Tensor dx = Tensor::empty(node.grad.shape());
    kernels::relu_dropout_backward(n, std::as_const(saved).data(), std::as_const(node.grad).data(), p, dx.data());
    accumulate_grad(*node.inputs[0], std::move(dx));
  });
}

}  // namespace attn::autograd
