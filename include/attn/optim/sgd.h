// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay: PyTorch 1.13's
// torch.optim.SGD (foreach=False) update for update, including its first step, which copies the gradient into
// the momentum buffer instead of decaying a zero buffer.
#pragma once
#include "attn/optim/optimizer.h"

namespace attn::optim {

struct SgdOptions {
  float lr = 1e-2f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;  // L2: added to the gradient as weight_decay * param
  bool nesterov = false;      // needs momentum > 0 and dampening == 0
  bool maximize = false;
};

// State per parameter: "momentum_buffer" (only when momentum != 0).
class SGD : public Optimizer {
 public:
  explicit SGD(ParamList params, const SgdOptions& options = {});
  const SgdOptions& options() const { return options_; }

 protected:
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots, int64_t step) override;

 private:
  SgdOptions options_;
};

}  // namespace attn::optim
