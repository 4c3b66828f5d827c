// Fused optimizer updates over one parameter's n floats (PyTorch 1.13's single-tensor rules, foreach=False), and
// the per-parameter norm sums that gradient clipping adds up. One pass reads the gradient and the state and writes
// the parameter and the state, so a step costs one sweep over memory per parameter.
#pragma once
#include <cstdint>

namespace attn::kernels {

struct SgdStep {
  float lr = 0.0f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool maximize = false;
};

// d = (maximize ? -g : g) + weight_decay * p
// momentum != 0: buf = first ? d : momentum * buf + (1 - dampening) * d;  d = nesterov ? d + momentum * buf : buf
// p -= lr * d
// param, grad, momentum_buffer: [n]; momentum_buffer may be null when momentum == 0. `first` marks the step that
// creates the buffer (PyTorch copies d into it instead of decaying).
void sgd_update(int64_t n, float* param, const float* grad, float* momentum_buffer, const SgdStep& s, bool first);

struct AdamStep {
  float lr = 0.0f;
  float beta1 = 0.0f;
  float beta2 = 0.0f;
  float eps = 0.0f;
  float weight_decay = 0.0f;
  bool decoupled_weight_decay = false;  // AdamW: p *= 1 - lr * wd; Adam: g += wd * p
  bool amsgrad = false;
  bool maximize = false;
  int64_t step = 1;  // this parameter's update count including this one (for the bias corrections)
};

// g = maximize ? -g : g;  Adam: g += wd * p  |  AdamW: p *= 1 - lr * wd
// m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2;  amsgrad: vmax = max(vmax, v)
// p -= lr / (1 - beta1^step) * m / (sqrt(v or vmax) / sqrt(1 - beta2^step) + eps)
// param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq: [n]; max_exp_avg_sq may be null unless amsgrad.
void adam_update(int64_t n, float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                 const AdamStep& s);

// sum |x|^p over x[n] in double (p = 1 and p = 2 vectorised), or max |x| when p is +inf. A NaN in x gives NaN.
// Chunks depend only on n, so the result is the same on any thread count.
double norm_power_sum(int64_t n, const float* x, double p);

}  // namespace attn::kernels
