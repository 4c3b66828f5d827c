// Dropout as a module: active in training mode only; its own random stream (forked from the model's seed)
// makes runs with the same seed identical.
#pragma once
#include "attn/core/rng.h"
#include "attn/kernels/dropout.h"
#include "attn/nn/module.h"

namespace attn::nn {

class Dropout : public Module {
 public:
  Dropout(float p, Rng& rng);
  Var forward(const Var& x);
  // forward(relu(x)) in one pass each way (autograd::relu_dropout).
  Var forward_relu(const Var& x);
  float p() const { return p_; }
  void set_p(float p);  // in [0, 1)
  bool active() const { return training() && p_ > 0.0f; }  // forward is the identity otherwise
  // The draws forward() would use on n elements, handed to a kernel that drops inside its own loops (fused
  // attention) and consumed from the stream; p = 0 (nothing dropped) when inactive.
  kernels::DropoutDraws reserve(int64_t n);

 private:
  float p_;
  Rng rng_;
};

}  // namespace attn::nn
