#include "attn/autograd/ops/loss.h"

#include <vector>

#include "attn/core/error.h"

namespace attn::autograd {

Var cross_entropy(const Var& logits, std::span<const int32_t> targets, const kernels::CrossEntropyOptions& options) {
  check_nonempty("cross_entropy", {logits});
  ATTN_CHECK(logits.value().dim() == 2 && logits.size(0) == int64_t(targets.size()),
             "cross_entropy: logits {} need shape [rows, classes] with one target per row, got {} targets",
             shape_str(logits.shape()), targets.size());
  Tensor x = logits.value().contiguous();
  const int64_t rows = x.size(0), classes = x.size(1);
  Tensor lse = Tensor::empty({rows});
  std::vector<int32_t> t(targets.begin(), targets.end());
  float loss = kernels::cross_entropy_forward(x.data(), t.data(), rows, classes, options, lse.data());
  return make_result("cross_entropy", Tensor::full({}, loss), {logits},
                     [x, lse, t = std::move(t), rows, classes, options](Node& n) {
                       Tensor dx = Tensor::empty(x.shape());
                       kernels::cross_entropy_backward(x.data(), t.data(), lse.data(), rows, classes, options,
                                                       n.grad.data()[0], dx.data());
                       accumulate_grad(*n.inputs[0], std::move(dx));
                     });
}

}  // namespace attn::autograd
