#include "attn/autograd/ops/losses.h"

#include "attn/core/error.h"

namespace attn::autograd {
namespace {

using kernels::Reduction;

void check_pair(const char* op, const Var& input, const Var& target, Reduction reduction) {
  check_nonempty(op, {input, target});
  ATTN_CHECK(input.shape() == target.shape(), "{}: input of shape {} and target of shape {} must have the same shape",
             op, shape_str(input.shape()), shape_str(target.shape()));
  ATTN_CHECK(reduction == Reduction::kNone || reduction == Reduction::kMean || reduction == Reduction::kSum,
             "{}: unknown reduction {}", op, static_cast<int>(reduction));
}

Tensor loss_tensor(const Shape& input_shape, Reduction reduction) {
  return reduction == Reduction::kNone ? Tensor::empty(input_shape) : Tensor::empty({});
}

// The gradient arrays for inputs that want one (null otherwise), and their hand-off after the kernel ran.
struct Grads {
  explicit Grads(Node& n) {
    for (int k = 0; k < 2; ++k) {
      if (n.inputs[size_t(k)]->requires_grad) g[k] = Tensor::empty(n.inputs[size_t(k)]->value.shape());
    }
  }
  float* data(int k) { return g[k].defined() ? g[k].data() : nullptr; }
  void accumulate(Node& n) {
    for (int k = 0; k < 2; ++k) {
      if (g[k].defined()) accumulate_grad(*n.inputs[size_t(k)], std::move(g[k]));
    }
  }
  Tensor g[2];
};

}  // namespace

Var binary_cross_entropy_with_logits(const Var& logits, const Var& targets, const BceOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  check_pair(op, logits, targets, options.reduction);
  const int64_t cols = logits.value().dim() == 0 ? 1 : logits.size(-1);
  Tensor pw;
  if (options.pos_weight.defined()) {
    const Tensor& p = options.pos_weight;
    ATTN_CHECK(p.dim() == 1 && (p.size(0) == cols || p.size(0) == 1),
               "{}: pos_weight of shape {} must be [{}] (one per class of logits {}) or [1]", op, shape_str(p.shape()),
               cols, shape_str(logits.shape()));
    pw = p.contiguous();
  }
  const int64_t pw_cols = pw.defined() && pw.numel() == 1 ? 1 : cols;
  const int64_t pw_rows = logits.numel() / pw_cols;
  Tensor x = logits.value().contiguous(), y = targets.value().contiguous();
  Tensor loss = loss_tensor(x.shape(), options.reduction);
  const float* pwp = pw.defined() ? pw.data() : nullptr;
  kernels::bce_with_logits_forward(x.data(), y.data(), pwp, pw_rows, pw_cols, options.reduction, loss.data());
  return make_result(
      op, std::move(loss), {logits, targets}, [x, y, pw, pw_rows, pw_cols, reduction = options.reduction](Node& n) {
        Grads g(n);
        const Tensor dloss = n.grad.contiguous();
        kernels::bce_with_logits_backward(x.data(), y.data(), pw.defined() ? pw.data() : nullptr, pw_rows, pw_cols,
                                          reduction, dloss.data(), g.data(0), g.data(1));
        g.accumulate(n);
      });
}

Var mse_loss(const Var& input, const Var& target, Reduction reduction) {
  check_pair("mse_loss", input, target, reduction);
  Tensor x = input.value().contiguous(), y = target.value().contiguous();
  Tensor loss = loss_tensor(x.shape(), reduction);
  kernels::mse_forward(x.data(), y.data(), x.numel(), reduction, loss.data());
  return make_result("mse_loss", std::move(loss), {input, target}, [x, y, reduction](Node& n) {
    Grads g(n);
    const Tensor dloss = n.grad.contiguous();
    kernels::mse_backward(x.data(), y.data(), x.numel(), reduction, dloss.data(), g.data(0), g.data(1));
    g.accumulate(n);
  });
}

}  // namespace attn::autograd
