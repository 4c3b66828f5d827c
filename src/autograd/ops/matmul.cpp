#include "attn/autograd/ops/matmul.h"

#include "attn/core/error.h"
#include "attn/kernels/gemm.h"
#include "attn/kernels/reduce.h"

namespace attn::autograd {
namespace {

using kernels::gemm;

// C[m,n] (+)= op(A) op(B) on contiguous tensors.
void gemm_into(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
               float beta) {
  gemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

}  // namespace

Var matmul(const Var& a, const Var& b) {
  check_nonempty("matmul", {a, b});
  Tensor av = a.value().contiguous(), bv = b.value().contiguous();
  const auto& as = av.shape();
  const auto& bs = bv.shape();
  ATTN_CHECK(as.size() >= 2 && (bs.size() == 2 || (bs.size() == 3 && as.size() == 3 && as[0] == bs[0])) &&
                 as.back() == bs[bs.size() - 2],
             "matmul: cannot multiply {} by {} (need [..., m, k] x [k, n] or [b, m, k] x [b, k, n])", shape_str(as),
             shape_str(bs));
  const int64_t k = as.back(), n = bs.back();
  if (bs.size() == 3) {  // batched
    const int64_t batch = as[0], m = as[1];
    Tensor out = Tensor::empty({batch, m, n});
    kernels::gemm_batched(batch, false, false, m, n, k, 1.0f, av.data(), m * k, bv.data(), k * n, 0.0f, out.data(),
                          m * n);
    return make_result("matmul", std::move(out), {a, b}, [av, bv, batch, m, n, k](Node& n_) {
      if (n_.inputs[0]->requires_grad) {  // dA = dC B^T
        Tensor da = Tensor::empty(av.shape());
        kernels::gemm_batched(batch, false, true, m, k, n, 1.0f, n_.grad.data(), m * n, bv.data(), k * n, 0.0f,
                              da.data(), m * k);
        accumulate_grad(*n_.inputs[0], std::move(da));
      }
      if (n_.inputs[1]->requires_grad) {  // dB = A^T dC
        Tensor db = Tensor::empty(bv.shape());
        kernels::gemm_batched(batch, true, false, k, n, m, 1.0f, av.data(), m * k, n_.grad.data(), m * n, 0.0f,
                              db.data(), k * n);
        accumulate_grad(*n_.inputs[1], std::move(db));
      }
    });
  }
  const int64_t m = leading_rows(as);
  Shape out_shape = as;
  out_shape.back() = n;
  Tensor out = Tensor::empty(out_shape);
  gemm_into(false, false, m, n, k, av.data(), bv.data(), out.data(), 0.0f);
  return make_result("matmul", std::move(out), {a, b}, [av, bv, m, n, k](Node& n_) {
    if (n_.inputs[0]->requires_grad) {
      Tensor da = Tensor::empty(av.shape());
      gemm_into(false, true, m, k, n, n_.grad.data(), bv.data(), da.data(), 0.0f);
      accumulate_grad(*n_.inputs[0], std::move(da));
    }
    if (n_.inputs[1]->requires_grad) {
      Tensor db = Tensor::empty(bv.shape());
      gemm_into(true, false, k, n, m, av.data(), n_.grad.data(), db.data(), 0.0f);
      accumulate_grad(*n_.inputs[1], std::move(db));
    }
  });
}

Var linear(const Var& x, const Var& weight, const Var& bias) {
  check_nonempty("linear", {x, weight, bias});
  Tensor xv = x.value().contiguous(), wv = weight.value().contiguous();
  ATTN_CHECK(wv.dim() == 2 && xv.dim() >= 1 && xv.shape().back() == wv.size(1),
             "linear: input {} does not match weight {} ([out, in])", shape_str(xv.shape()), shape_str(wv.shape()));
  const int64_t in = wv.size(1), out_f = wv.size(0), rows = leading_rows(xv.shape());
  Tensor bv;
  if (bias.defined()) {
    bv = bias.value().contiguous();
    ATTN_CHECK(bv.shape() == Shape{out_f}, "linear: bias {} does not match weight {}", shape_str(bv.shape()),
               shape_str(wv.shape()));
  }
  Shape out_shape = xv.shape();
  out_shape.back() = out_f;
  Tensor out = Tensor::empty(out_shape);
  if (bv.defined()) {  // start from the bias rows, then add x W^T
    for (int64_t r = 0; r < rows; ++r) std::copy(bv.data(), bv.data() + out_f, out.data() + r * out_f);
  }
  gemm_into(false, true, rows, out_f, in, xv.data(), wv.data(), out.data(), bv.defined() ? 1.0f : 0.0f);
  std::vector<Var> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return make_result("linear", std::move(out), inputs, [xv, wv, rows, in, out_f](Node& n) {
    if (n.inputs[0]->requires_grad) {  // dx = dy W
      Tensor dx = Tensor::empty(xv.shape());
      gemm_into(false, false, rows, in, out_f, n.grad.data(), wv.data(), dx.data(), 0.0f);
      accumulate_grad(*n.inputs[0], std::move(dx));
    }
    if (n.inputs[1]->requires_grad) {  // dW = dy^T x
      Tensor dw = Tensor::empty(wv.shape());
      gemm_into(true, false, out_f, in, rows, n.grad.data(), xv.data(), dw.data(), 0.0f);
      accumulate_grad(*n.inputs[1], std::move(dw));
    }
    if (n.inputs.size() > 2 && n.inputs[2]->requires_grad) {  // db = column sums of dy
      Tensor db = Tensor::empty({out_f});
      kernels::reduce_sum(1, rows, out_f, n.grad.data(), db.data());
      accumulate_grad(*n.inputs[2], std::move(db));
    }
  });
}

}  // namespace attn::autograd
