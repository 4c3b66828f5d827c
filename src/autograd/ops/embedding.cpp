#include "attn/autograd/ops/embedding.h"

#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/embedding.h"

namespace attn::autograd {

Var embedding(const Var& table, std::span<const int32_t> ids, const Shape& ids_shape, int64_t padding_idx) {
  check_nonempty("embedding", {table});
  ATTN_CHECK(table.value().dim() == 2, "embedding: table must be [vocab, dim], got {}", shape_str(table.shape()));
  ATTN_CHECK(shape_numel(ids_shape) == int64_t(ids.size()), "embedding: {} ids for id shape {}", ids.size(),
             shape_str(ids_shape));
  // Read through the const accessor: a writable pointer counts as a write, and the table may be a tied output
  // weight whose packed copy (autograd::linear, inference) a write would drop at every decoding step.
  const Tensor tv = table.value().contiguous();
  const int64_t vocab = tv.size(0), dim = tv.size(1), n = int64_t(ids.size());
  Shape out_shape = ids_shape;
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape);
  kernels::embedding_forward(n, ids.data(), vocab, dim, tv.data(), out.data());
  std::vector<int32_t> saved(ids.begin(), ids.end());
  return make_result("embedding", std::move(out), {table},
                     [saved = std::move(saved), vocab, dim, padding_idx](Node& node) {
                       Tensor dtable = Tensor::zeros({vocab, dim});
                       kernels::embedding_backward(int64_t(saved.size()), saved.data(), vocab, dim, node.grad.data(),
                                                   padding_idx, dtable.data());
                       accumulate_grad(*node.inputs[0], std::move(dtable));
                     });
}

}  // namespace attn::autograd
