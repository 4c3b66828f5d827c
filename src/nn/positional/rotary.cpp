#include "attn/nn/positional/rotary.h"

#include <cmath>

#include "attn/autograd/ops/positional_rotary.h"
#include "attn/core/error.h"

namespace attn::nn {

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, float base) : head_dim_(head_dim), base_(base) {
  ATTN_CHECK(head_dim > 0 && head_dim % 2 == 0 && std::isfinite(base) && base > 1.0f,
             "RotaryEmbedding: head_dim must be positive and even and base > 1, got head_dim {}, base {}", head_dim,
             base);
}

Var RotaryEmbedding::forward(const Var& x, int64_t offset) const {
  ATTN_CHECK(x.defined() && x.value().dim() == 4 && x.size(3) == head_dim_ && x.numel() > 0 && offset >= 0,
             "RotaryEmbedding(head_dim {}): input of shape {} at offset {} (need [B, H, L, {}], offset >= 0)",
             head_dim_, x.defined() ? shape_str(x.shape()) : "none", offset, head_dim_);
  return autograd::rotary(x, offset, base_);
}

std::pair<Var, Var> RotaryEmbedding::forward(const Var& q, const Var& k, int64_t offset) const {
  return {forward(q, offset), forward(k, offset)};
}

}  // namespace attn::nn
