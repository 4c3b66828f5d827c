// Element-wise activations over n contiguous floats, forward and backward. Each backward reads whichever saved
// array is cheaper: tanh, sigmoid and relu use the forward's output y (no transcendental needed), gelu the input
// x. Outputs may alias inputs. NaN propagates; +-inf gives the limits (tanh +-1, sigmoid 0/1, gelu 0/inf).
#pragma once
#include <cstdint>

namespace attn::kernels {

void tanh_forward(int64_t n, const float* x, float* y);
void tanh_backward(int64_t n, const float* y, const float* dy, float* dx);  // dx = dy * (1 - y^2)

void sigmoid_forward(int64_t n, const float* x, float* y);
void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx);  // dx = dy * y * (1 - y)

void relu_forward(int64_t n, const float* x, float* y);
void relu_backward(int64_t n, const float* y, const float* dy, float* dx);  // dx = y > 0 ? dy : 0

// kErf: x * Phi(x) with the exact normal CDF (PyTorch's default); kTanh: PyTorch's approximate='tanh',
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
enum class GeluApprox { kErf, kTanh };
void gelu_forward(int64_t n, const float* x, float* y, GeluApprox approx = GeluApprox::kErf);
void gelu_backward(int64_t n, const float* x, const float* dy, float* dx, GeluApprox approx = GeluApprox::kErf);

}  // namespace attn::kernels
