#include "attn/nn/positional/sinusoidal.h"

#include <cmath>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/core/error.h"

namespace attn::nn {

Tensor SinusoidalPositionalEncoding::make_table(int64_t length, int64_t dim) {
  ATTN_CHECK(length > 0 && dim > 0, "SinusoidalPositionalEncoding: length and dim must be positive, got {}, {}", length,
             dim);
  Tensor t = Tensor::empty({length, dim});
  for (int64_t i = 0; i < dim; i += 2) {
    const double inv_freq = std::pow(10000.0, -double(i) / double(dim));
    for (int64_t p = 0; p < length; ++p) {
      t.data()[p * dim + i] = float(std::sin(double(p) * inv_freq));
      if (i + 1 < dim) t.data()[p * dim + i + 1] = float(std::cos(double(p) * inv_freq));
    }
  }
  return t;
}

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t dim, int64_t max_len)
    : dim_(dim), max_len_(max_len), table_(make_table(max_len, dim)) {}

Var SinusoidalPositionalEncoding::forward(const Var& x, int64_t offset) const {
  ATTN_CHECK(x.defined() && x.value().dim() == 3 && x.size(2) == dim_ && x.size(1) > 0 && offset >= 0 &&
                 offset + x.size(1) <= max_len_,
             "SinusoidalPositionalEncoding(dim {}, max_len {}): input of shape {} at offset {} (need [B, L, {}] with "
             "offset + L <= {})",
             dim_, max_len_, x.defined() ? shape_str(x.shape()) : "none", offset, dim_, max_len_);
  return autograd::add(x, Var(table_.slice(0, offset, offset + x.size(1))));
}

}  // namespace attn::nn
