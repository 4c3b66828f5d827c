// Dropout. The keep test compares the top 24 bits of each draw with ceil(p * 2^24) in integers, the same test as
// uniform_at(...) >= p, in a loop the compiler can vectorise.
#include "attn/kernels/dropout.h"

#include <cmath>
#include <cstring>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "kernels/cpu/simd.h"

namespace attn::kernels {
namespace {

void check_p(const char* op, int64_t n, float p) {
  ATTN_CHECK(n >= 1, "{}: n = {} (must be >= 1)", op, n);
  ATTN_CHECK(p >= 0.0f && p < 1.0f, "{}: p = {} must be in [0, 1) (n = {})", op, p, n);
}

}  // namespace

void dropout_forward(int64_t n, const float* x, float p, uint64_t seed, uint64_t offset, float* y, uint8_t* mask) {
  check_p("dropout_forward", n, p);
  ATTN_CHECK(x && y, "dropout_forward: null pointer (n = {})", n);
  if (p == 0.0f) {
    if (y != x) std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
    if (mask) std::memset(mask, 1, static_cast<size_t>(n));
    return;
  }
  const uint64_t key = rng_key(seed);
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(static_cast<double>(p) * 0x1.0p24));
  const float scale = 1.0f / (1.0f - p);
  cpu::parallel_for(n, 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const bool keep = (bits_at_key(key, offset + static_cast<uint64_t>(i)) >> 40) >= threshold;
      y[i] = keep ? x[i] * scale : 0.0f;
      if (mask) mask[i] = keep;
    }
  });
}

void dropout_backward(int64_t n, const float* dy, const uint8_t* mask, float p, float* dx) {
  check_p("dropout_backward", n, p);
  ATTN_CHECK(dy && mask && dx, "dropout_backward: null pointer (n = {})", n);
  const float scale = 1.0f / (1.0f - p);
  cpu::parallel_for(n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
  });
}

}  // namespace attn::kernels
