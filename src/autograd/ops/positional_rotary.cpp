#include "attn/autograd/ops/positional_rotary.h"

#include "attn/core/error.h"
#include "attn/kernels/positional_rotary.h"

namespace attn::autograd {

Var rotary(const Var& x, int64_t offset, float base) {
  check_nonempty("rotary", {x});
  ATTN_CHECK(x.value().dim() == 4 && x.size(3) % 2 == 0,
             "rotary: input of shape {} (need [batch, heads, len, head_dim] with an even head_dim)",
             shape_str(x.shape()));
  Tensor xv = x.value().contiguous();
  const int64_t rows = xv.size(0) * xv.size(1), len = xv.size(2), dim = xv.size(3);
  Tensor out = Tensor::empty(xv.shape());
  kernels::rotary_apply(rows, len, dim, xv.data(), out.data(), offset, base, false);
  return make_result("rotary", std::move(out), {x}, [=](Node& n) {
    Tensor g = n.grad.contiguous();
    Tensor dx = Tensor::empty(g.shape());
    kernels::rotary_apply(rows, len, dim, g.data(), dx.data(), offset, base, true);
    accumulate_grad(*n.inputs[0], std::move(dx));
  });
}

}  // namespace attn::autograd
