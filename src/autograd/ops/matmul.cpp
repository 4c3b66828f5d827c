#include "attn/autograd/ops/matmul.h"

#include <omp.h>

#include <mutex>
#include <utility>

#include "attn/autograd/ops/activation.h"
#include "attn/autograd/ops/arithmetic.h"
#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/gemm.h"
#include "attn/kernels/reduce.h"

namespace attn::autograd {

struct PackedValue {
  Tensor::ContentKey from;
  kernels::PackedWeight weight;
};

namespace {

using kernels::gemm;

// C[m,n] (+)= op(A) op(B) on contiguous tensors.
void gemm_into(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
               float beta) {
  gemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

// The two gradient products of a matrix product cost the same, so when both are wanted and there are two threads
// or more they run side by side, each a single-threaded BLAS call: that wastes less than two calls in turn, each
// split over the threads. f and g must not throw (shapes were checked in the forward, outputs allocated before).
template <class F, class G>
void side_by_side(bool both, F&& f, G&& g) {
  if (!both || num_threads() < 2 || omp_in_parallel()) {
    f();
    g();
    return;
  }
#pragma omp parallel for num_threads(2) schedule(static, 1)
  for (int i = 0; i < 2; ++i) {
    if (i == 0) {
      f();
    } else {
      g();
    }
  }
}

std::mutex g_packing;  // guards Node::packed of every node

// The weight packed for kernels::gemm_packed_weight, made on first use and again whenever its contents may have
// changed (an optimizer step or a load hands out a writable pointer, which moves the content key).
std::shared_ptr<const PackedValue> packed_weight(Node& weight) {
  const Tensor& w = weight.value;
  const Tensor::ContentKey key = w.content_key();
  std::lock_guard lock(g_packing);
  if (!weight.packed || !(weight.packed->from == key)) {
    weight.packed =
        std::make_shared<const PackedValue>(PackedValue{key, kernels::pack_weight(w.size(0), w.size(1), w.data())});
  }
  return weight.packed;
}

// Whether x W^T multiplies by the weight's packed copy (kernels::packed_weight_suits: few rows, or tall products with
// a column panel per thread), packed once per change of the weight instead of per call.
bool packed_weight_suits(const Var& weight, int64_t rows) {
  const Tensor& w = weight.value();
  return kernels::packed_weight_suits(rows, w.size(0), w.size(1)) && w.is_contiguous();
}

// x W^T + bias through the packed weight, with the fusion applied by the product's epilogue. x contiguous.
Var packed_linear(const Tensor& x, const Var& weight, const float* bias, const Shape& out_shape,
                  const LinearFusion& fusion) {
  const int64_t in = x.shape().back(), out_f = out_shape.back(), rows = leading_rows(out_shape);
  Tensor out = Tensor::empty(out_shape);
  const Tensor residual = fusion.residual.defined() ? fusion.residual.value().contiguous() : Tensor();
  const kernels::GemmEpilogue epilogue{bias, fusion.relu, residual.defined() ? residual.data() : nullptr, out_f};
  kernels::gemm_packed_weight(rows, x.data(), in, packed_weight(*weight.node())->weight, 0.0f, out.data(), out_f,
                              epilogue);
  return make_result("linear", std::move(out), {}, nullptr);
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
    const bool want_a = n_.inputs[0]->requires_grad, want_b = n_.inputs[1]->requires_grad;
    Tensor da = want_a ? Tensor::empty(av.shape()) : Tensor(), db = want_b ? Tensor::empty(bv.shape()) : Tensor();
    const float* g = n_.grad.data();
    side_by_side(
        want_a && want_b,
        [&] {
          if (want_a) gemm_into(false, true, m, k, n, g, bv.data(), da.data(), 0.0f);  // dA = dC B^T
        },
        [&] {
          if (want_b) gemm_into(true, false, k, n, m, av.data(), g, db.data(), 0.0f);  // dB = A^T dC
        });
    if (want_a) accumulate_grad(*n_.inputs[0], std::move(da));
    if (want_b) accumulate_grad(*n_.inputs[1], std::move(db));
  });
}

Var linear(const Var& x, const Var& weight, const Var& bias) { return linear_fused(x, weight, bias, LinearFusion{}); }

Var linear_fused(const Var& x, const Var& weight, const Var& bias, const LinearFusion& fusion) {
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
  ATTN_CHECK(!fusion.residual.defined() || fusion.residual.shape() == out_shape,
             "linear: residual {} does not match the output {}", shape_str(fusion.residual.shape()),
             shape_str(out_shape));
  const float* bias_data = bv.defined() ? std::as_const(bv).data() : nullptr;
  const bool packed = packed_weight_suits(weight, rows);
  if (packed && !grad_enabled()) return packed_linear(xv, weight, bias_data, out_shape, fusion);
  Tensor out = Tensor::empty(out_shape);
  if (packed) {  // the bias added by the product's tiles; the weight is packed once per optimizer step
    kernels::gemm_packed_weight(rows, std::as_const(xv).data(), in, packed_weight(*weight.node())->weight, 0.0f,
                                out.data(), out_f, {.bias = bias_data, .relu = false, .residual = nullptr,
                                                    .ld_residual = 0});
  } else {
    // Start from the bias rows and add x W^T: with beta = 1 the product skips its pass that zeroes the output.
    if (bv.defined()) kernels::fill_rows(rows, out_f, bias_data, out.data());
    const float beta = bv.defined() ? 1.0f : 0.0f;
    gemm_into(false, true, rows, out_f, in, xv.data(), wv.data(), out.data(), beta);
  }
  std::vector<Var> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  Var y = make_result("linear", std::move(out), inputs, [xv, wv, rows, in, out_f](Node& n) {
    const bool want_x = n.inputs[0]->requires_grad, want_w = n.inputs[1]->requires_grad;
    Tensor dx = want_x ? Tensor::empty(xv.shape()) : Tensor(), dw = want_w ? Tensor::empty(wv.shape()) : Tensor();
    const float* g = n.grad.data();
    side_by_side(
        want_x && want_w,
        [&] {
          if (want_x) gemm_into(false, false, rows, in, out_f, g, wv.data(), dx.data(), 0.0f);  // dx = dy W
        },
        [&] {
          if (want_w) gemm_into(true, false, out_f, in, rows, g, xv.data(), dw.data(), 0.0f);  // dW = dy^T x
        });
    if (want_x) accumulate_grad(*n.inputs[0], std::move(dx));
    if (want_w) accumulate_grad(*n.inputs[1], std::move(dw));
    if (n.inputs.size() > 2 && n.inputs[2]->requires_grad) {  // db = column sums of dy
      Tensor db = Tensor::empty({out_f});
      kernels::reduce_sum(1, rows, out_f, n.grad.data(), db.data());
      accumulate_grad(*n.inputs[2], std::move(db));
    }
  });
  if (fusion.relu) y = relu(y);
  return fusion.residual.defined() ? add(y, fusion.residual) : y;
}

}  // namespace attn::autograd
