#include "attn/optim/clip.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/optimizer_update.h"

namespace attn::optim {

float clip_grad_norm(const std::vector<autograd::Var>& params, float max_norm, float norm_type, bool allow_nonfinite) {
  ATTN_CHECK(std::isfinite(max_norm) && max_norm > 0.0f, "clip_grad_norm: max_norm {} must be finite and > 0",
             max_norm);
  ATTN_CHECK(norm_type > 0.0f && !std::isnan(norm_type), "clip_grad_norm: norm_type {} must be > 0 (or inf)",
             norm_type);
  std::vector<Tensor> grads;
  for (const auto& v : params) {
    if (!v.defined() || !v.grad().defined()) continue;
    ATTN_CHECK(v.grad().is_contiguous(), "clip_grad_norm: a gradient of shape {} is not contiguous",
               shape_str(v.grad().shape()));
    grads.push_back(v.grad());
  }
  const bool is_max = std::isinf(norm_type);
  double acc = 0.0;
  int64_t elements = 0;
  for (const Tensor& g : grads) {
    if (g.numel() == 0) continue;
    const double part = kernels::norm_power_sum(g.numel(), g.data(), norm_type);
    elements += g.numel();
    if (is_max) {
      acc = std::isnan(acc) || std::isnan(part) ? std::numeric_limits<double>::quiet_NaN() : std::max(acc, part);
    } else {
      acc += part;
    }
  }
  const float total = static_cast<float>(is_max || norm_type == 1.0f ? acc : std::pow(acc, 1.0 / double(norm_type)));
  ATTN_CHECK(allow_nonfinite || std::isfinite(total),
             "clip_grad_norm: the total {}-norm of {} gradients ({} elements) is {}; pass allow_nonfinite to "
             "return it and skip the step",
             norm_type, grads.size(), elements, total);
  if (!std::isfinite(total)) return total;
  const float scale = max_norm / (total + 1e-6f);  // in float, as PyTorch forms it from its float norm
  if (scale < 1.0f) {
    for (Tensor& g : grads) {
      if (g.numel() > 0) kernels::scale(g.numel(), g.data(), scale, g.data());
    }
  }
  return total;
}

}  // namespace attn::optim
