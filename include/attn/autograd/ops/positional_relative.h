// Clipped relative positions (Shaw et al. 2018) as ops: relative_gather spreads per-distance values
// [..., Lq, 2K+1] over the query x key grid [..., Lq, Lk]; relative_scatter sums a grid back per distance. Each is
// the other's adjoint, so each one's backward is the other.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

// The distance of key j from query i is clamp(j - (i + q_offset), -K, K); q_offset places the queries among the
// keys (0 for self-attention; Lk - Lq when the queries are the last positions).
// x [..., Lq, 2K+1] -> [..., Lq, Lk]
Var relative_gather(const Var& x, int64_t len_k, int64_t max_distance, int64_t q_offset = 0);
// x [..., Lq, Lk] -> [..., Lq, 2K+1]
Var relative_scatter(const Var& x, int64_t max_distance, int64_t q_offset = 0);

}  // namespace attn::autograd
