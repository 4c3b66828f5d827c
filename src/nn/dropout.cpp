#include "attn/nn/dropout.h"

#include "attn/autograd/ops/dropout.h"
#include "attn/core/error.h"

namespace attn::nn {

Dropout::Dropout(float p, Rng& rng) : p_(p), rng_(rng.fork(rng.next_u64())) {
  ATTN_CHECK(p >= 0.0f && p < 1.0f, "Dropout: p must be in [0, 1), got {}", p);
  register_rng("rng", rng_);
}

void Dropout::set_p(float p) {
  ATTN_CHECK(p >= 0.0f && p < 1.0f, "Dropout: p must lie in [0, 1), got {}", p);
  p_ = p;
}

Var Dropout::forward(const Var& x) { return autograd::dropout(x, p_, rng_, training()); }

Var Dropout::forward_relu(const Var& x) { return autograd::relu_dropout(x, p_, rng_, training()); }

kernels::DropoutDraws Dropout::reserve(int64_t n) {
  return active() ? autograd::take_draws(rng_, p_, n) : kernels::DropoutDraws{};
}

}  // namespace attn::nn
