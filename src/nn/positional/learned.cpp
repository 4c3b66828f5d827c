#include "attn/nn/positional/learned.h"

#include <numeric>
#include <vector>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/core/error.h"

namespace attn::nn {

LearnedPositionalEmbedding::LearnedPositionalEmbedding(int64_t max_len, int64_t dim, Rng& rng)
    : embedding(register_module("embedding", std::make_shared<Embedding>(max_len, dim, rng))),
      max_len_(max_len),
      dim_(dim) {}

Var LearnedPositionalEmbedding::positions(int64_t length, int64_t offset) const {
  ATTN_CHECK(length > 0 && offset >= 0 && offset + length <= max_len_,
             "LearnedPositionalEmbedding(max_len {}, dim {}): positions [{}, {}) outside [0, {})", max_len_, dim_,
             offset, offset + length, max_len_);
  std::vector<int32_t> ids(static_cast<size_t>(length));
  std::iota(ids.begin(), ids.end(), int32_t(offset));
  return embedding->forward(ids, {length});
}

Var LearnedPositionalEmbedding::forward(const Var& x, int64_t offset) const {
  ATTN_CHECK(x.defined() && x.value().dim() == 3 && x.size(2) == dim_ && x.size(1) > 0,
             "LearnedPositionalEmbedding(max_len {}, dim {}): input of shape {} (need [B, L, {}])", max_len_, dim_,
             x.defined() ? shape_str(x.shape()) : "none", dim_);
  return autograd::add(x, positions(x.size(1), offset));
}

}  // namespace attn::nn
