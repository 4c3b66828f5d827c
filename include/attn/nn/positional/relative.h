// Self-attention with relative position representations (Shaw et al. 2018). Key j seen from query i carries
// learned embeddings of the clipped distance r = clamp(j - i, -K, K), shared by all heads:
//   e_ij = (x_i W_Q) . (x_j W_K + a^K_r) / sqrt(d),   a = masked softmax_j(e),   z_i = sum_j a_ij (x_j W_V + a^V_r)
// then the heads are joined by out_proj. Parameters (in named_parameters() order): relative_key and relative_value
// [2K+1, head_dim] (row r + K holds distance r), then q_proj, k_proj, v_proj, out_proj .{weight, bias} (PyTorch
// Linear layout).
#pragma once
#include <memory>

#include "attn/core/rng.h"
#include "attn/nn/attention/multi_head.h"
#include "attn/nn/linear.h"
#include "attn/nn/module.h"

namespace attn::nn {

class RelativeSelfAttention : public Module {
 public:
  RelativeSelfAttention(int64_t embed_dim, int64_t num_heads, int64_t max_distance, Rng& rng, bool bias = true);

  // x [B, L, E] -> [B, L, E]. weights, when given, receives [B, H, L, L] (masked keys 0).
  Var forward(const Var& x, const AttentionMasking& masking = {}, Tensor* weights = nullptr) const;

  int64_t max_distance() const { return max_distance_; }

  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
  Var relative_key, relative_value;

 private:
  std::string name() const;
  int64_t embed_dim_, num_heads_, head_dim_, max_distance_;
};

}  // namespace attn::nn
