// Dropout (the keep test is in dropout_keep.h).
#include "attn/kernels/dropout.h"

#include <cstring>

#include "attn/core/error.h"
#include "kernels/cpu/dropout_keep.h"
#include "kernels/cpu/parallel.h"
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
  const cpu::DropoutKeep drop(p, seed);
  cpu::parallel_for(n, 4, [&](int64_t b, int64_t e) {
    // Blocks of branch-free loops, so that each vectorises: the hashes, then the scaling.
    constexpr int64_t kBlockSize = 256;
    alignas(64) uint8_t keep[kBlockSize];
    for (int64_t b0 = b; b0 < e; b0 += kBlockSize) {
      const int64_t m = e - b0 < kBlockSize ? e - b0 : kBlockSize;
      const uint64_t first = offset + static_cast<uint64_t>(b0);
      for (int64_t j = 0; j < m; ++j) keep[j] = drop.kept(first + static_cast<uint64_t>(j));
      for (int64_t j = 0; j < m; ++j) y[b0 + j] = x[b0 + j] * (static_cast<float>(keep[j]) * drop.scale);
      if (mask) std::memcpy(mask + b0, keep, static_cast<size_t>(m));
    }
  });
}

void relu_dropout_forward(int64_t n, const float* x, float p, uint64_t seed, uint64_t offset, float* y) {
  check_p("relu_dropout_forward", n, p);
  ATTN_CHECK(x && y, "relu_dropout_forward: null pointer (n = {})", n);
  const cpu::DropoutKeep drop(p, seed);
  cpu::parallel_for(n, 4, [&](int64_t b, int64_t e) {
    const float* xb = x + b;
    float* yb = y + b;
    drop.each_factor(offset + static_cast<uint64_t>(b), e - b,
                     [xb, yb](int64_t j, float factor) { yb[j] = (xb[j] > 0.0f ? xb[j] : 0.0f) * factor; });
  });
}

void relu_dropout_backward(int64_t n, const float* y, const float* dy, float p, float* dx) {
  check_p("relu_dropout_backward", n, p);
  ATTN_CHECK(y && dy && dx, "relu_dropout_backward: null pointer (n = {})", n);
  const float scale = 1.0f / (1.0f - p);
  const cpu::Vec vscale = cpu::Vec::set1(scale);
  cpu::map2(n, y, dy, dx, [=](cpu::Vec vy, cpu::Vec g) {
    return cpu::select_greater(vy, cpu::Vec::zero(), g * vscale, cpu::Vec::zero());
  });
}

void dropout_backward(int64_t n, const float* dy, const uint8_t* mask, float p, float* dx) {
  check_p("dropout_backward", n, p);
  ATTN_CHECK(dy && mask && dx, "dropout_backward: null pointer (n = {})", n);
  const float scale = 1.0f / (1.0f - p);
  cpu::parallel_for(n, 1, [&](int64_t b, int64_t e) {
    const float s = scale;  // a local: stores through dx could alias a captured float and stop vectorisation
    for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * (static_cast<float>(mask[i]) * s);
  });
}

}  // namespace attn::kernels
