// Rotary position embedding (RoPE) in the GPT-NeoX "rotate_half" layout: the head dimension is split into halves
// x = [x1, x2] and pair (x1[i], x2[i]) is rotated by angle p * base^(-2i/D) at position p:
//   out = [x1 cos - x2 sin, x2 cos + x1 sin]   (Hugging Face's apply_rotary_pos_emb, not RoFormer's interleaved pairs)
// The backward is the rotation by -angle (rotations are orthogonal), so one kernel does both.
#pragma once
#include <cstdint>

namespace attn::kernels {

// x, out [rows, len, dim] (dim even; rows = batch * heads); position of x[:, t] is offset + t. inverse rotates
// by -angle (the backward). out may alias x.
void rotary_apply(int64_t rows, int64_t len, int64_t dim, const float* x, float* out, int64_t offset, float base,
                  bool inverse);

}  // namespace attn::kernels
