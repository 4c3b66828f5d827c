#include "attn/nn/embedding.h"

#include <algorithm>

#include "attn/autograd/ops/embedding.h"
#include "attn/core/error.h"

namespace attn::nn {

Embedding::Embedding(int64_t vocab, int64_t dim, Rng& rng, int64_t padding_idx)
    : vocab_(vocab), dim_(dim), padding_idx_(padding_idx) {
  ATTN_CHECK(vocab > 0 && dim > 0, "Embedding: sizes must be positive, got vocab={} dim={}", vocab, dim);
  ATTN_CHECK(padding_idx == kNoPadding || (padding_idx >= 0 && padding_idx < vocab),
             "Embedding: padding_idx {} outside [0, {})", padding_idx, vocab);
  Tensor w = Tensor::empty({vocab, dim});
  fill_normal(rng, w.data(), w.numel());
  if (padding_idx != kNoPadding) std::fill_n(w.data() + padding_idx * dim, dim, 0.0f);
  weight = register_parameter("weight", w);
}

Var Embedding::forward(std::span<const int32_t> ids, const Shape& ids_shape) const {
  return autograd::embedding(weight, ids, ids_shape, padding_idx_);
}

}  // namespace attn::nn
