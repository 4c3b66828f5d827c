#include "attn/autograd/ops/pointer_generator.h"

#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/pointer_generator.h"

namespace attn::autograd {

Var pointer_generator_log_probs(const Var& logits, const Var& gate, const Var& weights, std::span<const int32_t> ids) {
  check_nonempty("pointer_generator_log_probs", {logits, gate, weights});
  const Shape& ls = logits.shape();
  ATTN_CHECK(ls.size() == 2 && gate.value().numel() == ls[0] && gate.value().dim() <= 2 &&
                 weights.value().dim() == 2 && weights.size(0) == ls[0] &&
                 int64_t(ids.size()) == weights.value().numel(),
             "pointer_generator_log_probs: logits {} need [rows, vocab] with gate [rows] and weights [rows, sources] "
             "and one id per weight; got gate {}, weights {}, {} ids",
             shape_str(ls), shape_str(gate.shape()), shape_str(weights.shape()), ids.size());
  const int64_t rows = ls[0], vocab = ls[1], sources = weights.size(1);
  Tensor z = logits.value().contiguous(), g = gate.value().contiguous(), w = weights.value().contiguous();
  Tensor out = Tensor::empty({rows, vocab}), softmax = Tensor::empty({rows, vocab}), mixed = Tensor::empty({rows, vocab});
  std::vector<int32_t> id(ids.begin(), ids.end());
  kernels::pointer_generator_forward(rows, vocab, sources, z.data(), g.data(), w.data(), id.data(), out.data(),
                                     softmax.data(), mixed.data());
  return make_result("pointer_generator_log_probs", std::move(out), {logits, gate, weights},
                     [g, w, id = std::move(id), softmax, mixed, rows, vocab, sources](Node& n) {
                       Tensor dz = Tensor::empty({rows, vocab}), dg = Tensor::empty(g.shape()),
                              dw = Tensor::empty({rows, sources});
                       kernels::pointer_generator_backward(rows, vocab, sources, g.data(), w.data(), id.data(),
                                                           softmax.data(), mixed.data(), n.grad.data(), dz.data(),
                                                           dg.data(), dw.data());
                       accumulate_grad(*n.inputs[0], std::move(dz));
                       accumulate_grad(*n.inputs[1], std::move(dg));
                       accumulate_grad(*n.inputs[2], std::move(dw));
                     });
}

}  // namespace attn::autograd
