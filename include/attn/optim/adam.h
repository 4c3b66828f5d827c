// Adam (Kingma & Ba) with bias correction, optional AMSGrad and L2 weight decay added to the gradient: PyTorch
// 1.13's torch.optim.Adam (foreach=False) update for update. AdamW (adamw.h) shares the update and decouples
// the decay.
#pragma once
#include "attn/optim/optimizer.h"

namespace attn::optim {

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // Adam: L2, g += weight_decay * param; AdamW: param *= 1 - lr * weight_decay
  bool amsgrad = false;
  bool maximize = false;
};

// State per parameter: "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
class Adam : public Optimizer {
 public:
  explicit Adam(ParamList params, const AdamOptions& options = {});
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(const char* name, ParamList params, const AdamOptions& options, bool decoupled_weight_decay);
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots, int64_t step) override;

 private:
  AdamOptions options_;
  bool decoupled_;
};

}  // namespace attn::optim
