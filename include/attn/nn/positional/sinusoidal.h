// The Transformer's fixed sinusoidal position encoding (Vaswani et al. 2017), added to embeddings:
//   PE[p, 2i] = sin(p / 10000^(2i/D)),  PE[p, 2i+1] = cos(p / 10000^(2i/D))
// computed in double once for max_len positions. No parameters. (Scaling the embeddings by sqrt(D) first, as the
// paper does, is the caller's choice.)
#pragma once
#include "attn/nn/module.h"

namespace attn::nn {

class SinusoidalPositionalEncoding : public Module {
 public:
  explicit SinusoidalPositionalEncoding(int64_t dim, int64_t max_len = 4096);

  // x [B, L, D] -> x + PE[offset, offset + L) (offset: positions already decoded); needs offset + L <= max_len.
  Var forward(const Var& x, int64_t offset = 0) const;

  const Tensor& table() const { return table_; }  // [max_len, dim]
  // PE[0, length) for any length, without building a module.
  static Tensor make_table(int64_t length, int64_t dim);

 private:
  int64_t dim_, max_len_;
  Tensor table_;
};

}  // namespace attn::nn
