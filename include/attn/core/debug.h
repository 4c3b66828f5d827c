// Opt-in numeric checks for finding where a NaN or inf first appears. Off by default (a scan per op output
// costs memory bandwidth); on when the environment has ATTN_DEBUG_CHECKS=1 or after set_debug_checks(true).
#pragma once
#include <cstdint>

#include "attn/core/tensor.h"

namespace attn {

bool debug_checks();
void set_debug_checks(bool on);

// When debug checks are on, throws attn::Error if data[0, n) holds a NaN or inf, e.g.
//   "softmax: output of shape [4, 17] has a non-finite value (nan) at index 5 ([0, 5])"
// n must equal the shape's element count. A no-op when the checks are off.
void check_finite(const char* op, const char* what, const float* data, int64_t n, const Shape& shape);

}  // namespace attn
