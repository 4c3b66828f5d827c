#include "attn/optim/adam.h"

#include <cmath>

#include "attn/core/error.h"
#include "attn/kernels/optimizer_update.h"

namespace attn::optim {
namespace {

std::vector<std::string> adam_slots(const AdamOptions& o) {
  if (o.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

}  // namespace

Adam::Adam(ParamList params, const AdamOptions& options) : Adam("Adam", std::move(params), options, false) {}

Adam::Adam(const char* name, ParamList params, const AdamOptions& options, bool decoupled_weight_decay)
    : Optimizer(name, std::move(params), options.lr, adam_slots(options)),
      options_(options),
      decoupled_(decoupled_weight_decay) {
  check_nonnegative(name, "eps", options.eps);
  check_nonnegative(name, "weight_decay", options.weight_decay);
  ATTN_CHECK(options.beta1 >= 0.0f && options.beta1 < 1.0f, "{}: beta1 {} must be in [0, 1)", name, options.beta1);
  ATTN_CHECK(options.beta2 >= 0.0f && options.beta2 < 1.0f, "{}: beta2 {} must be in [0, 1)", name, options.beta2);
}

void Adam::update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots, int64_t step) {
  kernels::AdamStep s;
  s.lr = lr();
  s.beta1 = options_.beta1;
  s.beta2 = options_.beta2;
  s.eps = options_.eps;
  s.weight_decay = options_.weight_decay;
  s.decoupled_weight_decay = decoupled_;
  s.amsgrad = options_.amsgrad;
  s.maximize = options_.maximize;
  s.step = step;
  kernels::adam_update(param.numel(), param.data(), grad.data(), slots[0].data(), slots[1].data(),
                       options_.amsgrad ? slots[2].data() : nullptr, s);
}

}  // namespace attn::optim
