#include "attn/autograd/ops/shape.h"

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"

namespace attn::autograd {
namespace {

// dst += src, dst a view into a gradient buffer (same shape as src).
void add_into(Tensor dst, const Tensor& src) {
  const Tensor s = src.contiguous();
  if (dst.is_contiguous()) {
    kernels::axpy(s.numel(), 1.0f, s.data(), dst.data());
    return;
  }
  Tensor sum = dst.clone();
  kernels::axpy(sum.numel(), 1.0f, s.data(), sum.data());
  dst.copy_from(sum);
}

}  // namespace

Var reshape(const Var& x, Shape shape) {
  Shape in_shape = x.shape();
  return make_result("reshape", x.value().reshape(std::move(shape)), {x},
                     [in_shape](Node& n) {
                       Tensor g = take_grad(n).reshape(in_shape);  // a view of the only reference: handed on
                       accumulate_grad(*n.inputs[0], std::move(g));
                     });
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
                     [](Node& n) { accumulate_grad(*n.inputs[0], take_grad(n)); });
}

Var slice(const Var& x, int64_t dim, int64_t start, int64_t end) {
  const int64_t d = dim < 0 ? dim + x.value().dim() : dim;
  Tensor view = x.value().slice(dim, start, end);  // validates dim, clamps the range like Python
  ATTN_CHECK(view.numel() > 0, "slice: empty range [{}, {}) of dimension {} in shape {}", start, end, dim,
             shape_str(x.shape()));
  const int64_t begin = (start < 0 ? start + x.shape()[d] : start);
  Shape in_shape = x.shape();
  return make_result("slice", std::move(view), {x}, [in_shape, d, begin](Node& n) {
    Node& in = *n.inputs[0];
    const bool first = !in.grad.defined();
    if (first) in.grad = Tensor::zeros(in_shape);
    // Added in place: the slices of one tensor (q, k and v of a packed projection) share one gradient buffer
    // instead of each building a zero-padded copy of the whole input.
    Tensor region = in.grad.slice(d, begin, begin + n.grad.size(d));
    if (first) {
      region.copy_from(n.grad);
    } else {
      add_into(region, n.grad);
    }
  });
}

Var concat(const std::vector<Var>& xs, int64_t dim) {
  ATTN_CHECK(!xs.empty(), "concat: no inputs");
  const Shape& first = xs[0].shape();
  const int64_t rank = int64_t(first.size());
  ATTN_CHECK(dim >= -rank && dim < rank, "concat: dimension {} out of range for shape {}", dim, shape_str(first));
  const int64_t d = dim < 0 ? dim + rank : dim;
  Shape out_shape = first;
  out_shape[d] = 0;
  for (const Var& x : xs) {
    Shape a = x.shape(), b = first;
    ATTN_CHECK(int64_t(a.size()) == rank, "concat: shapes {} and {} differ in rank", shape_str(first), shape_str(a));
    a[d] = b[d] = 0;
    ATTN_CHECK(a == b, "concat: shapes {} and {} differ outside dimension {}", shape_str(first), shape_str(x.shape()),
               d);
    out_shape[d] += x.shape()[d];
  }
  Tensor out = Tensor::empty(out_shape);
  std::vector<int64_t> offsets;
  int64_t at = 0;
  for (const Var& x : xs) {
    offsets.push_back(at);
    out.slice(d, at, at + x.shape()[d]).copy_from(x.value());
    at += x.shape()[d];
  }
  return make_result("concat", std::move(out), xs, [d, offsets](Node& n) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!n.inputs[i]->requires_grad) continue;
      const int64_t len = n.inputs[i]->value.shape()[d];
      accumulate_grad(*n.inputs[i], n.grad.slice(d, offsets[i], offsets[i] + len));
    }
  });
}

}  // namespace attn::autograd
