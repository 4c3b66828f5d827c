// Activations as vector maps over cpu::tanh / sigmoid / normal_cdf (simd.h). Where a formula would meet inf * 0 at
// x = +-inf (gelu's x * Phi(x) at -inf, x * phi(x) in its derivative), the factor x is clamped to +-40, beyond
// which the other factor is exactly 0 or 1 in float anyway.
#include "attn/kernels/activation.h"

#include <initializer_list>

#include "attn/core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::Vec;

constexpr float kClamp = 40.0f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;      // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;     // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;

void check(const char* op, int64_t n, std::initializer_list<const void*> ptrs) {
  ATTN_CHECK(n >= 1, "{}: n = {} (must be >= 1)", op, n);
  for (const void* p : ptrs) ATTN_CHECK(p != nullptr, "{}: null pointer (n = {})", op, n);
}

// The operand order keeps NaN a NaN (max/min return their second operand when either is NaN).
inline Vec clamp_low(Vec x) { return cpu::max(Vec::set1(-kClamp), x); }
inline Vec clamp(Vec x) { return cpu::min(Vec::set1(kClamp), clamp_low(x)); }

// sigmoid(2u) = (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3), without the cancellation of 1 + tanh u
// for x < 0.
inline Vec gelu_tanh_gate(Vec xc) {
  const Vec u = Vec::set1(kSqrt2OverPi) * cpu::fma(Vec::set1(kGeluCubic) * xc, xc * xc, xc);
  return cpu::sigmoid(u + u);
}

}  // namespace

void tanh_forward(int64_t n, const float* x, float* y) {
  check("tanh_forward", n, {x, y});
  cpu::map(n, x, y, [](Vec v) { return cpu::tanh(v); });
}

void tanh_backward(int64_t n, const float* y, const float* dy, float* dx) {
  check("tanh_backward", n, {y, dy, dx});
  cpu::map2(n, y, dy, dx, [](Vec t, Vec g) { return g * cpu::fnma(t, t, Vec::set1(1.0f)); });
}

void sigmoid_forward(int64_t n, const float* x, float* y) {
  check("sigmoid_forward", n, {x, y});
  cpu::map(n, x, y, [](Vec v) { return cpu::sigmoid(v); });
}

void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx) {
  check("sigmoid_backward", n, {y, dy, dx});
  cpu::map2(n, y, dy, dx, [](Vec s, Vec g) { return g * s * (Vec::set1(1.0f) - s); });
}

void relu_forward(int64_t n, const float* x, float* y) {
  check("relu_forward", n, {x, y});
  cpu::map(n, x, y, [](Vec v) { return cpu::max(Vec::zero(), v); });
}

void relu_backward(int64_t n, const float* y, const float* dy, float* dx) {
  check("relu_backward", n, {y, dy, dx});
  cpu::map2(n, y, dy, dx, [](Vec v, Vec g) { return cpu::select_greater(v, Vec::zero(), g, Vec::zero()); });
}

void gelu_forward(int64_t n, const float* x, float* y, GeluApprox approx) {
  check("gelu_forward", n, {x, y});
  if (approx == GeluApprox::kTanh) {
    cpu::map(n, x, y, [](Vec v) { return clamp_low(v) * gelu_tanh_gate(clamp(v)); });
  } else {
    cpu::map(n, x, y, [](Vec v) { return clamp_low(v) * cpu::normal_cdf(v); });
  }
}

void gelu_backward(int64_t n, const float* x, const float* dy, float* dx, GeluApprox approx) {
  check("gelu_backward", n, {x, dy, dx});
  if (approx == GeluApprox::kTanh) {
    // d/dx [x s] = s + x * 2 s (1 - s) * sqrt(2/pi) (1 + 3 * 0.044715 x^2), s = sigmoid(2u)
    cpu::map2(n, x, dy, dx, [](Vec v, Vec g) {
      const Vec xc = clamp(v), s = gelu_tanh_gate(xc);
      const Vec du = Vec::set1(2.0f * kSqrt2OverPi) * cpu::fma(Vec::set1(3.0f * kGeluCubic) * xc, xc, Vec::set1(1.0f));
      return g * cpu::fma(xc * s * (Vec::set1(1.0f) - s), du, s);
    });
  } else {
    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
    cpu::map2(n, x, dy, dx, [](Vec v, Vec g) {
      const Vec xc = clamp(v);
      const Vec pdf = Vec::set1(kInvSqrt2Pi) * cpu::exp_no_overflow(Vec::set1(-0.5f) * xc * xc);
      return g * cpu::fma(xc, pdf, cpu::normal_cdf(v));
    });
  }
}

}  // namespace attn::kernels
