#include "attn/autograd/ops/shape.h"

namespace attn::autograd {

Var reshape(const Var& x, Shape shape) {
  Shape in_shape = x.shape();
  return make_result("reshape", x.value().reshape(std::move(shape)), {x},
                     [in_shape](Node& n) { accumulate_grad(*n.inputs[0], n.grad.reshape(in_shape)); });
}

Var transpose(const Var& x, int64_t a, int64_t b) {
  return make_result("transpose", x.value().transpose(a, b), {x},
                     [a, b](Node& n) { accumulate_grad(*n.inputs[0], n.grad.transpose(a, b)); });
}

Var permute(const Var& x, const std::vector<int64_t>& order) {
  Tensor value = x.value().permute(order);  // validates order
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t d = order[i] < 0 ? order[i] + int64_t(order.size()) : order[i];
    inverse[d] = int64_t(i);
  }
  return make_result("permute", std::move(value), {x},
                     [inverse](Node& n) { accumulate_grad(*n.inputs[0], n.grad.permute(inverse)); });
}

Var contiguous(const Var& x) {
  if (x.value().is_contiguous()) return x;
  return make_result("contiguous", x.value().contiguous(), {x},
                     [](Node& n) { accumulate_grad(*n.inputs[0], n.grad); });
}

}  // namespace attn::autograd
