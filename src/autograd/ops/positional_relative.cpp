#include "attn/autograd/ops/positional_relative.h"

#include "attn/core/error.h"
#include "attn/kernels/positional_relative.h"

namespace attn::autograd {
namespace {

enum class Direction { kGather, kScatter };

// in [rows, Lq, in_last] -> out [rows, Lq, out_last]; the backward runs the other direction.
Var relative_op(Direction dir, const Var& x, int64_t len_k, int64_t max_distance, int64_t q_offset) {
  const char* op = dir == Direction::kGather ? "relative_gather" : "relative_scatter";
  check_nonempty(op, {x});
  const int64_t buckets = 2 * max_distance + 1;
  const Shape& xs = x.shape();
  ATTN_CHECK(xs.size() >= 2 && max_distance >= 0 && xs.back() == (dir == Direction::kGather ? buckets : len_k),
             "{}: input of shape {} with max_distance {} (need [..., Lq, {}])", op, shape_str(xs), max_distance,
             dir == Direction::kGather ? "2K+1" : "Lk");
  const int64_t len_q = xs[xs.size() - 2], rows = leading_rows(xs) / len_q;
  Shape out_shape = xs;
  out_shape.back() = dir == Direction::kGather ? len_k : buckets;
  Tensor xv = x.value().contiguous();
  Tensor out = Tensor::empty(out_shape);
  auto run = [=](Direction d, const float* in, float* o) {
    if (d == Direction::kGather) {
      kernels::relative_gather(rows, len_q, len_k, max_distance, q_offset, in, o);
    } else {
      kernels::relative_scatter(rows, len_q, len_k, max_distance, q_offset, in, o);
    }
  };
  run(dir, xv.data(), out.data());
  const Shape in_shape = xs;
  return make_result(op, std::move(out), {x}, [=](Node& n) {
    Tensor g = n.grad.contiguous();
    Tensor dx = Tensor::empty(in_shape);
    run(dir == Direction::kGather ? Direction::kScatter : Direction::kGather, g.data(), dx.data());
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

}  // namespace

Var relative_gather(const Var& x, int64_t len_k, int64_t max_distance, int64_t q_offset) {
  return relative_op(Direction::kGather, x, len_k, max_distance, q_offset);
}

Var relative_scatter(const Var& x, int64_t max_distance, int64_t q_offset) {
  const int64_t len_k = x.defined() && x.value().dim() >= 1 ? x.size(-1) : 0;
  return relative_op(Direction::kScatter, x, len_k, max_distance, q_offset);
}

}  // namespace attn::autograd
