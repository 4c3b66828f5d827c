// Embedding table [vocab, dim], initialised N(0, 1) as in PyTorch; the padding row (if any) starts at zero and
// never receives a gradient.
#pragma once
#include <span>

#include "attn/core/rng.h"
#include "attn/nn/module.h"

namespace attn::nn {

class Embedding : public Module {
 public:
  static constexpr int64_t kNoPadding = -1;
  Embedding(int64_t vocab, int64_t dim, Rng& rng, int64_t padding_idx = kNoPadding);
  // ids laid out as ids_shape -> [ids_shape..., dim]
  Var forward(std::span<const int32_t> ids, const Shape& ids_shape) const;
  int64_t vocab() const { return vocab_; }
  int64_t dim() const { return dim_; }
  Var weight;

 private:
  int64_t vocab_, dim_, padding_idx_;
};

}  // namespace attn::nn
