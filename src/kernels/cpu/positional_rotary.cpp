#include "attn/kernels/positional_rotary.h"

#include <cmath>
#include <vector>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"

namespace attn::kernels {

void rotary_apply(int64_t rows, int64_t len, int64_t dim, const float* x, float* out, int64_t offset, float base,
                  bool inverse) {
  ATTN_CHECK(rows > 0 && len > 0 && dim > 0 && dim % 2 == 0,
             "rotary_apply: need positive rows, len and an even dim, got rows {}, len {}, dim {}", rows, len, dim);
  ATTN_CHECK(offset >= 0 && std::isfinite(base) && base > 1.0f,
             "rotary_apply: need offset >= 0 and base > 1, got offset {}, base {}", offset, base);
  const int64_t half = dim / 2;
  // Angles in double: at positions in the tens of thousands a float product p * theta loses the low bits.
  std::vector<float> cos_t(static_cast<size_t>(len * half)), sin_t(static_cast<size_t>(len * half));
  for (int64_t i = 0; i < half; ++i) {
    const double theta = std::pow(double(base), -2.0 * double(i) / double(dim));
    for (int64_t t = 0; t < len; ++t) {
      const double angle = double(offset + t) * theta;
      cos_t[size_t(t * half + i)] = float(std::cos(angle));
      sin_t[size_t(t * half + i)] = float(inverse ? -std::sin(angle) : std::sin(angle));
    }
  }
  cpu::parallel_for(rows * len, dim, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t t = r % len;
      const float* c = cos_t.data() + t * half;
      const float* s = sin_t.data() + t * half;
      const float* xr = x + r * dim;
      float* o = out + r * dim;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = xr[i], x2 = xr[i + half];
        o[i] = x1 * c[i] - x2 * s[i];
        o[i + half] = x2 * c[i] + x1 * s[i];
      }
    }
  });
}

}  // namespace attn::kernels
