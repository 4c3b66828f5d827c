// Rotary position embedding (RoPE, Su et al. 2021) for attention heads, in the GPT-NeoX / Hugging Face
// "rotate_half" convention: the head dimension's halves pair up, (x[i], x[i + D/2]) rotated by angle
// p * base^(-2i/D) at position p. (RoFormer's original pairs interleaved dims (x[2i], x[2i+1]); checkpoints from the
// two conventions differ by a permutation of W_Q and W_K's rows.) q.k after rotation depends only on the distance
// between the two positions. No parameters.
#pragma once
#include <utility>

#include "attn/nn/module.h"

namespace attn::nn {

class RotaryEmbedding : public Module {
 public:
  explicit RotaryEmbedding(int64_t head_dim, float base = 10000.0f);

  // x [B, H, L, head_dim] at positions offset .. offset + L - 1 (offset = the KV cache's length when decoding).
  Var forward(const Var& x, int64_t offset = 0) const;
  // Rotates queries and keys alike, both starting at offset.
  std::pair<Var, Var> forward(const Var& q, const Var& k, int64_t offset = 0) const;

 private:
  int64_t head_dim_;
  float base_;
};

}  // namespace attn::nn
