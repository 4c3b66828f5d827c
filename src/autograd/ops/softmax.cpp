#include "attn/autograd/ops/softmax.h"

#include "attn/core/error.h"
#include "attn/kernels/softmax.h"

namespace attn::autograd {
namespace {

using Forward = void (*)(const float*, float*, int64_t, int64_t, int64_t);
using Backward = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t);

Var softmax_like(const char* op, const Var& x, int64_t axis, Forward forward, Backward backward) {
  check_nonempty(op, {x});
  const Shape& shape = x.shape();
  const int64_t d = int64_t(shape.size());
  ATTN_CHECK(axis >= -d && axis < d, "{}: axis {} out of range for shape {}", op, axis, shape_str(shape));
  if (axis < 0) axis += d;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= shape[i];
  for (int64_t i = axis + 1; i < d; ++i) inner *= shape[i];
  const int64_t n = shape[axis];
  Tensor xv = x.value().contiguous();
  Tensor y = Tensor::empty(shape);
  forward(xv.data(), y.data(), outer, n, inner);
  Tensor saved = y;
  return make_result(op, std::move(y), {x}, [saved, outer, n, inner, backward](Node& node) {
    Tensor dx = Tensor::empty(saved.shape());
    backward(saved.data(), node.grad.data(), dx.data(), outer, n, inner);
    accumulate_grad(*node.inputs[0], std::move(dx));
  });
}

}  // namespace

Var softmax(const Var& x, int64_t axis) {
  return softmax_like("softmax", x, axis, kernels::softmax_forward, kernels::softmax_backward);
}

Var log_softmax(const Var& x, int64_t axis) {
  return softmax_like("log_softmax", x, axis, kernels::log_softmax_forward, kernels::log_softmax_backward);
}

}  // namespace attn::autograd
