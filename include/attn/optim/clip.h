// Gradient clipping by total norm (PyTorch's torch.nn.utils.clip_grad_norm_): the norm of all gradients taken
// together, and when it exceeds max_norm every gradient is scaled by max_norm / (norm + 1e-6).
#pragma once
#include <vector>

#include "attn/autograd/var.h"

namespace attn::optim {

// Returns the total norm before clipping: (sum over gradients of ||g||_p^p)^(1/p), or max |g| for
// norm_type = +inf; parameters without a gradient are skipped (0 when none has one). When the norm is NaN or
// inf it throws attn::Error, unless allow_nonfinite: then the norm is returned and the gradients are left as
// they are, for the caller to skip the step (PyTorch would scale them by NaN or 0). norm_type must be > 0 (or
// +inf) and max_norm finite and > 0.
float clip_grad_norm(const std::vector<autograd::Var>& params, float max_norm, float norm_type = 2.0f,
                     bool allow_nonfinite = false);

}  // namespace attn::optim
