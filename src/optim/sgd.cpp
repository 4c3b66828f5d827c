#include "attn/optim/sgd.h"

#include <cmath>

#include "attn/core/error.h"
#include "attn/kernels/optimizer_update.h"

namespace attn::optim {
namespace {

std::vector<std::string> sgd_slots(const SgdOptions& o) {
  if (o.momentum == 0.0f) return {};
  return {"momentum_buffer"};
}

}  // namespace

SGD::SGD(ParamList params, const SgdOptions& options)
    : Optimizer("SGD", std::move(params), options.lr, sgd_slots(options)), options_(options) {
  check_nonnegative("SGD", "momentum", options.momentum);
  check_nonnegative("SGD", "weight_decay", options.weight_decay);
  ATTN_CHECK(std::isfinite(options.dampening), "SGD: dampening {} must be finite", options.dampening);
  ATTN_CHECK(!options.nesterov || (options.momentum > 0.0f && options.dampening == 0.0f),
             "SGD: Nesterov momentum needs momentum > 0 and dampening 0 (got momentum {}, dampening {})",
             options.momentum, options.dampening);
}

void SGD::update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots, int64_t step) {
  kernels::SgdStep s;
  s.lr = lr();
  s.momentum = options_.momentum;
  s.dampening = options_.dampening;
  s.weight_decay = options_.weight_decay;
  s.nesterov = options_.nesterov;
  s.maximize = options_.maximize;
  float* buffer = slots.empty() ? nullptr : slots[0].data();
  kernels::sgd_update(param.numel(), param.data(), grad.data(), buffer, s, step == 1);
}

}  // namespace attn::optim
