// Rotary position embedding (RoPE, GPT-NeoX / Hugging Face "rotate_half" convention: the pairs rotated together
// are (x[i], x[i + D/2]), not RoFormer's interleaved (x[2i], x[2i+1])), forward and backward as one op.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

// x [B, H, L, D] (D even) -> x with position offset + t rotated into x[:, :, t]; offset is where these L
// positions start (the cache length in incremental decoding). The gradient is the inverse rotation.
Var rotary(const Var& x, int64_t offset = 0, float base = 10000.0f);

}  // namespace attn::autograd
