#include "attn/autograd/ops/reduce.h"

#include "attn/core/error.h"
#include "attn/kernels/reduce.h"

namespace attn::autograd {
namespace {

// [outer, n, inner] view of x around `axis`.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  Shape reduced;  // x's shape without the axis
};

AxisSplit split_axis(const Shape& shape, int64_t axis, const char* op) {
  const int64_t d = int64_t(shape.size());
  ATTN_CHECK(axis >= -d && axis < d, "{}: axis {} out of range for shape {}", op, axis, shape_str(shape));
  if (axis < 0) axis += d;
  AxisSplit s;
  for (int64_t i = 0; i < d; ++i) {
    if (i < axis) s.outer *= shape[i];
    if (i > axis) s.inner *= shape[i];
    if (i != axis) s.reduced.push_back(shape[i]);
  }
  s.n = shape[axis];
  return s;
}

Var reduce_axis(const Var& x, int64_t axis, bool is_mean) {
  const char* op = is_mean ? "mean" : "sum";
  check_nonempty(op, {x});
  AxisSplit s = split_axis(x.shape(), axis, op);
  Tensor xv = x.value().contiguous();
  Tensor out = Tensor::empty(s.reduced);
  (is_mean ? kernels::reduce_mean : kernels::reduce_sum)(s.outer, s.n, s.inner, xv.data(), out.data());
  Shape in_shape = xv.shape();
  return make_result(op, std::move(out), {x}, [s, in_shape, is_mean](Node& n) {
    Tensor dx = Tensor::empty(in_shape);
    (is_mean ? kernels::reduce_mean_backward : kernels::reduce_sum_backward)(s.outer, s.n, s.inner, n.grad.data(),
                                                                           dx.data());
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

Var reduce_all(const Var& x, bool is_mean) {
  const char* op = is_mean ? "mean" : "sum";
  check_nonempty(op, {x});
  Tensor xv = x.value().contiguous();
  const int64_t count = xv.numel();
  float total = kernels::sum_all(count, xv.data());
  Tensor out = Tensor::full({}, is_mean ? total / float(count) : total);
  Shape in_shape = xv.shape();
  return make_result(op, std::move(out), {x}, [in_shape, count, is_mean](Node& n) {
    Tensor dx = Tensor::empty(in_shape);
    kernels::sum_all_backward(count, n.grad.data()[0] / (is_mean ? float(count) : 1.0f), dx.data());
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

}  // namespace

Var sum(const Var& x) { return reduce_all(x, false); }
Var mean(const Var& x) { return reduce_all(x, true); }
Var sum(const Var& x, int64_t axis) { return reduce_axis(x, axis, false); }
Var mean(const Var& x, int64_t axis) { return reduce_axis(x, axis, true); }

}  // namespace attn::autograd
