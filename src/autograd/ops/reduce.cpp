#include "attn/autograd/ops/reduce.h"

#include <utility>

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

Var max_over_steps(const Var& x, std::span<const int32_t> lengths) {
  check_nonempty("max_over_steps", {x});
  ATTN_CHECK(x.value().dim() == 3, "max_over_steps: input of shape {} (need [B, T, D])", shape_str(x.shape()));
  const int64_t batch = x.size(0), steps = x.size(1), width = x.size(2);
  ATTN_CHECK(lengths.empty() || int64_t(lengths.size()) == batch, "max_over_steps: {} lengths for input of shape {}",
             lengths.size(), shape_str(x.shape()));
  for (size_t b = 0; b < lengths.size(); ++b)
    ATTN_CHECK(lengths[b] >= 0 && lengths[b] <= steps, "max_over_steps: length {} of batch element {} is outside "
               "[0, {}] (input {})", lengths[b], b, steps, shape_str(x.shape()));
  const Tensor xv = x.value().contiguous();
  Tensor out = Tensor::zeros({batch, width});
  // Per output, the flat index into x of the step that won (-1: an empty sequence).
  auto argmax = std::make_shared<std::vector<int64_t>>(size_t(batch * width), -1);
  const float* in = xv.data();
  float* o = out.data();
#pragma omp parallel for if (batch * steps * width > (1 << 16))
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t valid = lengths.empty() ? steps : lengths[size_t(b)];
    int64_t* arg = argmax->data() + b * width;
    float* ob = o + b * width;
    for (int64_t t = 0; t < valid; ++t) {
      const float* row = in + (b * steps + t) * width;
      for (int64_t j = 0; j < width; ++j)
        if (t == 0 || row[j] > ob[j]) ob[j] = row[j], arg[j] = (b * steps + t) * width + j;
    }
  }
  Shape in_shape = xv.shape();
  return make_result("max_over_steps", std::move(out), {x}, [argmax, in_shape](Node& n) {
    Tensor dx = Tensor::zeros(in_shape);
    const float* g = std::as_const(n.grad).data();
    float* d = dx.data();
    for (size_t i = 0; i < argmax->size(); ++i)
      if ((*argmax)[i] >= 0) d[(*argmax)[i]] = g[i];
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

Var sum(const Var& x) { return reduce_all(x, false); }
Var mean(const Var& x) { return reduce_all(x, true); }
Var sum(const Var& x, int64_t axis) { return reduce_axis(x, axis, false); }
Var mean(const Var& x, int64_t axis) { return reduce_axis(x, axis, true); }

}  // namespace attn::autograd
