// Dropout's keep test, shared by dropout_forward and the kernels that drop inside their own loops. It compares
// the top 24 bits of each draw with ceil(p * 2^24) in integers (the same test as uniform_at(...) >= p), so that
// a loop over consecutive draws vectorises (64-bit multiplies included).
#pragma once
#include <cmath>
#include <cstdint>

#include "attn/core/rng.h"

namespace attn::kernels::cpu {

struct DropoutKeep {
  uint64_t key, threshold;
  float scale;  // 1 / (1 - p): what a kept element is multiplied by

  DropoutKeep(float p, uint64_t seed)
      : key(rng_key(seed)),
        threshold(static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 0x1.0p24))),
        scale(1.0f / (1.0f - p)) {}

  bool kept(uint64_t draw) const { return (bits_at_key(key, draw) >> 40) >= threshold; }

  // f(j, factor) for j < n, factor = scale if draw first + j is kept, else 0.
  template <class F>
  void each_factor(uint64_t first, int64_t n, F f) const {
    // Locals, and a select rather than a bool converted to float: both keep the loop vectorised (stores through
    // f could otherwise alias the members).
    const uint64_t k = key, t = threshold;
    const float s = scale;
    for (int64_t j = 0; j < n; ++j) f(j, (bits_at_key(k, first + static_cast<uint64_t>(j)) >> 40) >= t ? s : 0.0f);
  }
  // x[j] *= its factor, for j < n.
  void apply(uint64_t first, int64_t n, float* x) const {
    each_factor(first, n, [x](int64_t j, float factor) { x[j] *= factor; });
  }
  // factor[j] = its factor, for j < n.
  void factors(uint64_t first, int64_t n, float* factor) const {
    each_factor(first, n, [factor](int64_t j, float f) { factor[j] = f; });
  }
};

}  // namespace attn::kernels::cpu
