#include "attn/kernels/attention_additive.h"

#include <algorithm>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/attention_masking.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;

void check_additive_args(const char* op, const AttentionShape& s, const AttentionMask& mask) {
  check_score_args(op, s, mask);
  ATTN_CHECK(s.heads == 1 && s.head_dim > 0, "{}: need heads 1 and a positive hidden size, got heads {}, hidden {}", op,
             s.heads, s.head_dim);
}

// sum_h v[h] tanh(a[h] + c[h])
float score_one(const float* a, const float* c, const float* v, int64_t hidden) {
  Vec acc = Vec::zero();
  int64_t h = 0;
  for (; h + kLanes <= hidden; h += kLanes)
    acc = cpu::fma(Vec::load(v + h), cpu::tanh(Vec::load(a + h) + Vec::load(c + h)), acc);
  if (h < hidden) {
    const int m = static_cast<int>(hidden - h);
    acc = cpu::fma(Vec::load_partial(v + h, m), cpu::tanh(Vec::load_partial(a + h, m) + Vec::load_partial(c + h, m)),
                   acc);
  }
  return acc.reduce_add();
}

// With t = tanh(a + c) and g = ds * v * (1 - t^2): da += g, dc += g, dv += ds * t.
void backward_one(const float* a, const float* c, const float* v, float ds, int64_t hidden, float* da, float* dc,
                  float* dv) {
  const Vec vds = Vec::set1(ds), one = Vec::set1(1.0f);
  auto step = [&](int64_t h, int m) {
    auto load = [m](const float* p) { return m == kLanes ? Vec::load(p) : Vec::load_partial(p, m); };
    auto store = [m](Vec x, float* p) { m == kLanes ? x.store(p) : x.store_partial(p, m); };
    const Vec t = cpu::tanh(load(a + h) + load(c + h));
    const Vec g = vds * load(v + h) * cpu::fnma(t, t, one);
    store(load(da + h) + g, da + h);
    store(load(dc + h) + g, dc + h);
    store(cpu::fma(vds, t, load(dv + h)), dv + h);
  };
  int64_t h = 0;
  for (; h + kLanes <= hidden; h += kLanes) step(h, kLanes);
  if (h < hidden) step(h, static_cast<int>(hidden - h));
}

}  // namespace

void additive_scores_forward(const AttentionShape& s, const float* qp, const float* kp, const float* v,
                             const AttentionMask& mask, float* scores) {
  check_additive_args("additive_scores_forward", s, mask);
  const int64_t hidden = s.head_dim, rows = s.batch * s.len_q;
  cpu::parallel_for(rows, s.len_k * hidden, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / s.len_q, i = r % s.len_q;
      const int64_t visible = visible_keys(mask, b, i, s.len_q, s.len_k);
      float* out = scores + r * s.len_k;
      for (int64_t j = 0; j < visible; ++j)
        out[j] = score_one(qp + r * hidden, kp + (b * s.len_k + j) * hidden, v, hidden);
      std::fill(out + visible, out + s.len_k, 0.0f);
    }
  });
}

void additive_scores_backward(const AttentionShape& s, const float* qp, const float* kp, const float* v,
                              const AttentionMask& mask, const float* dscores, float* dqp, float* dkp, float* dv) {
  check_additive_args("additive_scores_backward", s, mask);
  const int64_t hidden = s.head_dim;
  std::fill(dqp, dqp + s.batch * s.len_q * hidden, 0.0f);
  std::fill(dkp, dkp + s.batch * s.len_k * hidden, 0.0f);
  // One batch element per task: dkp rows are shared by all of its queries, so no two tasks write the same row.
  // dv gets one partial per batch element, summed in order, so the result does not depend on the thread count.
  std::vector<float> dv_parts(static_cast<size_t>(s.batch * hidden), 0.0f);
  cpu::parallel_for(s.batch, s.len_q * s.len_k * hidden, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      for (int64_t i = 0; i < s.len_q; ++i) {
        const int64_t r = b * s.len_q + i, visible = visible_keys(mask, b, i, s.len_q, s.len_k);
        for (int64_t j = 0; j < visible; ++j) {
          const float ds = dscores[r * s.len_k + j];
          if (ds == 0.0f) continue;
          const int64_t kr = b * s.len_k + j;
          backward_one(qp + r * hidden, kp + kr * hidden, v, ds, hidden, dqp + r * hidden, dkp + kr * hidden,
                       dv_parts.data() + b * hidden);
        }
      }
    }
  });
  std::fill(dv, dv + hidden, 0.0f);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < hidden; ++h) dv[h] += dv_parts[size_t(b * hidden + h)];
}

}  // namespace attn::kernels
