// Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1-p); the
// mask comes from (seed, offset), so it is the same whatever the thread count.
#pragma once
#include "attn/autograd/var.h"
#include "attn/core/rng.h"
#include "attn/kernels/dropout.h"

namespace attn::autograd {

// The next n draws of rng (its counter advances past them) for dropout with probability p.
kernels::DropoutDraws take_draws(Rng& rng, float p, int64_t n);

// Identity when !training or p == 0. Draws x.numel() numbers from rng (its counter advances).
Var dropout(const Var& x, float p, Rng& rng, bool training = true);

// dropout(relu(x), p, rng, training) in one pass each way, with the same draws and results; relu(x) when
// !training or p == 0.
Var relu_dropout(const Var& x, float p, Rng& rng, bool training = true);

}  // namespace attn::autograd
