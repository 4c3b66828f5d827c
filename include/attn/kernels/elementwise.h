// Element-wise arithmetic on contiguous float arrays: binary ops with NumPy broadcasting (and their backward),
// scalar ops, axpy, row filling, and reduce_to_shape, which sums a gradient of a broadcast shape back to an input's
// shape.
// Shapes must be non-empty (every dimension >= 1); mismatches throw attn::Error naming the op and both shapes.
#pragma once
#include <cstdint>

#include "attn/core/tensor.h"

namespace attn::kernels {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };
const char* binary_op_name(BinaryOp op);  // "add", "sub", "mul", "div"

// The NumPy broadcast of two shapes (aligned at the right; each pair of dims equal or one of them 1).
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

// out [broadcast_shape(a_shape, b_shape)] = a op b. out may alias an input whose shape is the output's.
void binary(BinaryOp op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out);

// Gradients of out = a op b given dout [broadcast shape]: da [a_shape] and db [b_shape] are overwritten; pass null
// for one not wanted. add and sub read neither a nor b (they may be null); mul reads the other input, div both.
void binary_backward(BinaryOp op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                     const float* dout, float* da, float* db);

// out [shape] = grad [grad_shape] summed over the dimensions along which `shape` was broadcast to grad_shape
// (the backward of broadcasting). Throws if shape does not broadcast to grad_shape.
void reduce_to_shape(const float* grad, const Shape& grad_shape, float* out, const Shape& shape);

// Flat ops over n floats; out may alias x.
void scale(int64_t n, const float* x, float alpha, float* out);  // out = alpha * x
void add_scalar(int64_t n, const float* x, float c, float* out);  // out = x + c
void axpy(int64_t n, float alpha, const float* x, float* y);     // y += alpha * x
// out [rows, n] = row [n] repeated (a bias laid out under a GEMM that then adds into it).
void fill_rows(int64_t rows, int64_t n, const float* row, float* out);

}  // namespace attn::kernels
