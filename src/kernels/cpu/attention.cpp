// Fused scaled dot-product attention (FlashAttention-2 style) on the CPU.
//
// Forward, per (batch, head, block of kBlockQ queries):
//   for each block of kBlockK keys:  S = Q K^T            [rows, keys]   (register-tiled, K pre-transposed)
//                                    m' = max(m, rowmax S); P = 2^((S - m') c); l = l 2^((m - m') c) + rowsum P
//                                    O = O 2^((m - m') c) + P V
//   out = O / l, lse = m scale + ln l        (c = scale log2 e, so exp becomes exp2 with one fma)
// Backward, per (batch, head, block of kBlockK keys), over the query blocks that see it:
//   P = exp(scale S - lse), dP = dO V^T, dS = P (dP - rowsum(dO o out))
//   dV += P^T dO, dK += scale dS^T Q, dQ += scale dS K
// Only O(len x head_dim) scratch per thread; the len_q x len_k matrix never exists.
// Dropout on the weights multiplies P by its keep factors after the row sums (forward), and in the backward
// gives dV += (P o F)^T dO and dS = P (F o dO V^T - delta), F the same factors regenerated from the draws; delta
// = rowsum(dO o out) holds as it is, since out is the dropped weights times V.
#include "attn/kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/gemm.h"
#include "attn/kernels/softmax.h"
#include "kernels/cpu/dropout_keep.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/cpu/small_gemm.h"
#include "kernels/cpu/transpose.h"

namespace attn::kernels {
namespace {

using cpu::DropoutKeep;
using cpu::kLanes;
using cpu::pack_transposed;
using cpu::small_gemm;
using cpu::Vec;

constexpr int64_t kBlockQ = 96;  // query rows per block: a multiple of the 6-row tile
constexpr int64_t kBlockK = 96;  // keys per block: a multiple of kLanes and of the 6-row tile
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kRescaleSlack = 8.0f;  // see forward_block

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Per-thread scratch that keeps its capacity from call to call.
float* scratch(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// What one (batch, head) pair sees.
struct Head {
  int64_t len_q, len_k, dim, dim_pad;
  int64_t key_len;  // valid keys: min(key_lengths[b], len_k)
  bool causal;
  const DropoutKeep* drop;  // null: no dropout
  uint64_t first_draw;      // the draw of this head's weight (0, 0)
  uint64_t draw(int64_t i, int64_t j) const { return first_draw + static_cast<uint64_t>(i * len_k + j); }
  int64_t offset() const { return len_k - len_q; }
  // Query i sees keys [0, visible_end(i)).
  int64_t visible_end(int64_t i) const {
    int64_t end = key_len;
    if (causal) end = std::min(end, i + offset() + 1);
    return std::max<int64_t>(end, 0);
  }
};

// drop: null, or dropout's keep test for the draws from first_draw on.
Head head_of(const AttentionShape& s, const AttentionMask& mask, const DropoutKeep* drop, uint64_t first_draw,
             int64_t bh) {
  const int64_t b = bh / s.heads;
  int64_t key_len = mask.key_lengths ? std::min<int64_t>(mask.key_lengths[b], s.len_k) : s.len_k;
  return Head{s.len_q,
              s.len_k,
              s.head_dim,
              round_up(s.head_dim, kLanes),
              key_len,
              mask.causal,
              drop,
              first_draw + static_cast<uint64_t>(bh * s.len_q * s.len_k)};
}

// Row i of head (b, h) of an operand laid out by hs starts at ptr + head_offset(...) + i * hs.row.
int64_t head_offset(const HeadStrides& hs, const AttentionShape& s, int64_t bh) {
  return bh / s.heads * hs.batch + bh % s.heads * hs.head;
}

// K^T (or V^T) as one [dim, kBlockK] panel per key block, keys past key_len zero. Panels keep the tile loads
// of a block within a few KiB: one [dim, len] matrix would put its rows len*4 bytes apart, and at power-of-two
// lengths all of a block's rows would fall into the same L1 set.
// src's rows lie lds apart.
float* pack_key_panels(const float* src, int64_t lds, int64_t key_len, int64_t dim, std::vector<float>& buf) {
  const int64_t blocks = (key_len + kBlockK - 1) / kBlockK;
  float* dst = scratch(buf, blocks * dim * kBlockK);
  for (int64_t kb = 0; kb < blocks; ++kb) {
    const int64_t k0 = kb * kBlockK;
    pack_transposed(src + k0 * lds, lds, std::min(kBlockK, key_len - k0), kBlockK, dim, dst + kb * dim * kBlockK,
                    kBlockK);
  }
  return dst;
}

// Rows `ld` floats apart.
struct Rows {
  const float* data;
  int64_t ld;
};

// Rows of width dim, lds apart, copied into rows of width dim_pad (zero tail), so tiles can load whole vectors.
// Returns src itself when no padding is needed.
Rows padded_rows(const float* src, int64_t lds, int64_t rows, int64_t dim, int64_t dim_pad, std::vector<float>& buf) {
  if (dim == dim_pad) return {src, lds};
  float* dst = scratch(buf, rows * dim_pad);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * dim_pad, src + r * lds, sizeof(float) * dim);
    std::fill(dst + r * dim_pad + dim, dst + (r + 1) * dim_pad, 0.0f);
  }
  return {dst, dim_pad};
}

// Zeroes rows [begin, end) of width dim, ld apart.
void zero_rows(float* x, int64_t ld, int64_t begin, int64_t end, int64_t dim) {
  for (int64_t r = begin; r < end; ++r) std::fill(x + r * ld, x + r * ld + dim, 0.0f);
}

// Sets S[r][j] = -inf (fill) for keys k0 + j at or past the row's visible end.
void mask_block(const Head& h, int64_t q0, int64_t rows, int64_t k0, int64_t width, float* s, int64_t lds,
                float fill) {
  if (k0 + width <= h.visible_end(q0)) return;  // visible_end grows with the row: all of the block is visible
  for (int64_t r = 0; r < rows; ++r) {
    int64_t first_hidden = std::max<int64_t>(h.visible_end(q0 + r) - k0, 0);
    for (int64_t j = first_hidden; j < width; ++j) s[r * lds + j] = fill;
  }
}

void scale_row(float* x, int64_t n, float a) {
  Vec va = Vec::set1(a);
  for (int64_t j = 0; j < n; j += kLanes) (Vec::load(x + j) * va).store(x + j);
}

struct ForwardScratch {
  std::vector<float> kt, v_pad, s, o, m, l;
  int64_t packed_head = -1;
  Rows v_rows{};  // V with rows padded to dim_pad (or V itself)
};

// One head's rows, each `row` floats after the previous one (the head_dim of a contiguous [B, H, L, D] array).
struct HeadRows {
  const float *q, *k, *v;
  float* out;
  float* lse;  // null: not wanted
  int64_t ldq, ldk, ldv, ldo;
};

// One block of up to kBlockQ queries of one head.
void forward_block(const Head& h, int64_t head_index, const HeadRows& at, float scale, int64_t q0,
                   ForwardScratch& ws) {
  const int64_t rows = std::min(kBlockQ, h.len_q - q0), dim = h.dim, dp = h.dim_pad;
  float* out = at.out;
  const int64_t key_end = h.visible_end(q0 + rows - 1);  // the last row sees the most
  if (key_end == 0) {
    for (int64_t r = q0; r < q0 + rows; ++r) std::fill(out + r * at.ldo, out + r * at.ldo + dim, 0.0f);
    if (at.lse) std::fill(at.lse + q0, at.lse + q0 + rows, kNegInf);
    return;
  }
  if (ws.packed_head != head_index) {  // consecutive blocks of one head share the packed K^T and V
    pack_key_panels(at.k, at.ldk, h.key_len, dim, ws.kt);
    ws.v_rows = padded_rows(at.v, at.ldv, h.key_len, dim, dp, ws.v_pad);
    ws.packed_head = head_index;
  }
  const float* kt = ws.kt.data();
  float* s = scratch(ws.s, kBlockQ * kBlockK);
  float* o = scratch(ws.o, kBlockQ * dp);
  float* m = scratch(ws.m, kBlockQ);
  float* l = scratch(ws.l, kBlockQ);
  std::fill(o, o + rows * dp, 0.0f);
  std::fill(m, m + rows, kNegInf);
  std::fill(l, l + rows, 0.0f);
  const float c = scale * cpu::kLog2e;
  const float* qb = at.q + q0 * at.ldq;

  for (int64_t k0 = 0; k0 < key_end; k0 += kBlockK) {
    const int64_t keys = std::min(kBlockK, key_end - k0), width = round_up(keys, kLanes);
    // S[rows, width] = Q[rows, dim] K^T[dim, width]
    small_gemm(int(rows), int(width), int(dim), qb, at.ldq, 1, kt + k0 * dim, kBlockK, s, kBlockK, false);
    mask_block(h, q0, rows, k0, width, s, kBlockK, kNegInf);
    for (int64_t r = 0; r < rows; ++r) {
      float* sr = s + r * kBlockK;
      Vec vmax = Vec::set1(kNegInf);
      for (int64_t j = 0; j < width; j += kLanes) vmax = cpu::max(vmax, Vec::load(sr + j));
      const float block_max = vmax.reduce_max();
      if (block_max == kNegInf && m[r] == kNegInf) {  // nothing visible yet in this row: P = 0
        std::fill(sr, sr + width, 0.0f);
        continue;
      }
      // Lazy rescaling: the running max moves only when a score exceeds it by kRescaleSlack (in log2 units),
      // so P stays <= 2^kRescaleSlack and O is rarely rescaled; l and O share the stale max, lse stays exact.
      if (!(block_max * c <= m[r] * c + kRescaleSlack)) {
        if (l[r] != 0.0f) {
          const float alpha = std::exp2((m[r] - block_max) * c);
          l[r] *= alpha;
          scale_row(o + r * dp, dp, alpha);
        }
        m[r] = block_max;
      }
      const Vec vc = Vec::set1(c), shift = Vec::set1(-m[r] * c);
      Vec sum = Vec::zero();
      for (int64_t j = 0; j < width; j += kLanes) {
        Vec p = cpu::exp2_no_overflow(cpu::fma(Vec::load(sr + j), vc, shift));
        p.store(sr + j);
        sum = sum + p;
      }
      l[r] += sum.reduce_add();
      if (h.drop) h.drop->apply(h.draw(q0 + r, k0), width, sr);  // after the sum: the normaliser counts all
    }
    // O[rows, dp] += P[rows, keys] V[keys, dp]
    small_gemm(int(rows), int(dp), int(keys), s, kBlockK, 1, ws.v_rows.data + k0 * ws.v_rows.ld, ws.v_rows.ld, o,
               dp, true);
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* dst = out + (q0 + r) * at.ldo;
    if (l[r] == 0.0f) {  // no visible key
      std::fill(dst, dst + dim, 0.0f);
      if (at.lse) at.lse[q0 + r] = kNegInf;
      continue;
    }
    const float inv = 1.0f / l[r];
    for (int64_t d = 0; d < dim; ++d) dst[d] = o[r * dp + d] * inv;
    if (at.lse) at.lse[q0 + r] = m[r] * scale + std::log(l[r]);
  }
}

struct BackwardScratch {
  std::vector<float> kt, vt, k_pad, q_pad, do_pad, dq, p, ds, keep, dk, dv, neg_lse2;
};

// One head's operands in the backward, each row ld* floats after the previous one; dk and dv lie as k and v do.
struct BackwardHead {
  const float *q, *k, *v, *dout;
  float *dk, *dv;
  int64_t ldq, ldk, ldv, ldo;
};

// All of one head's gradients from the key blocks [kb_begin, kb_end); dq_acc [len_q, dim_pad] accumulates
// dS K (unscaled). dk and dv rows of those keys are written.
void backward_keys(const Head& h, const BackwardHead& at, const float* lse, const float* delta, float scale,
                   int64_t kb_begin, int64_t kb_end, float* dq_acc, BackwardScratch& ws) {
  const int64_t dim = h.dim, dp = h.dim_pad, lq = h.len_q;
  const float c = scale * cpu::kLog2e;
  const float* kt = pack_key_panels(at.k, at.ldk, h.key_len, dim, ws.kt);
  const float* vt = pack_key_panels(at.v, at.ldv, h.key_len, dim, ws.vt);
  const Rows k_rows = padded_rows(at.k, at.ldk, h.key_len, dim, dp, ws.k_pad);
  const Rows q_rows = padded_rows(at.q, at.ldq, lq, dim, dp, ws.q_pad);
  const Rows do_rows = padded_rows(at.dout, at.ldo, lq, dim, dp, ws.do_pad);
  float* p = scratch(ws.p, kBlockQ * kBlockK);
  float* ds = scratch(ws.ds, kBlockQ * kBlockK);
  float* keep = h.drop ? scratch(ws.keep, kBlockQ * kBlockK) : nullptr;  // dropout's factors F
  float* dk_acc = scratch(ws.dk, kBlockK * dp);
  float* dv_acc = scratch(ws.dv, kBlockK * dp);
  float* neg_lse2 = scratch(ws.neg_lse2, lq);  // -lse log2 e per query row (-inf: the row sees nothing)
  for (int64_t i = 0; i < lq; ++i) neg_lse2[i] = lse[i] == kNegInf ? kNegInf : -lse[i] * cpu::kLog2e;
  const Vec vc = Vec::set1(c);
  auto zero_keys = [&](int64_t begin, int64_t end) {
    zero_rows(at.dk, at.ldk, begin, end, dim);
    zero_rows(at.dv, at.ldv, begin, end, dim);
  };

  for (int64_t kb = kb_begin; kb < kb_end; ++kb) {
    const int64_t k0 = kb * kBlockK;
    if (k0 >= h.key_len) {  // padding keys: no query sees them
      zero_keys(k0, std::min(k0 + kBlockK, h.len_k));
      continue;
    }
    const int64_t keys = std::min(kBlockK, h.key_len - k0), width = round_up(keys, kLanes);
    std::fill(dk_acc, dk_acc + keys * dp, 0.0f);
    std::fill(dv_acc, dv_acc + keys * dp, 0.0f);
    const int64_t q_first = h.causal ? std::max<int64_t>(k0 - h.offset(), 0) : 0;  // earlier queries see none
    for (int64_t q0 = q_first; q0 < lq; q0 += kBlockQ) {
      const int64_t rows = std::min(kBlockQ, lq - q0);
      // P = exp2(S c - lse log2 e), computed as each tile of S leaves the registers; a row that sees nothing
      // has lse = -inf, a shift of -inf and so P = 0.
      const float* shift = neg_lse2 + q0;
      small_gemm(int(rows), int(width), int(dim), at.q + q0 * at.ldq, at.ldq, 1, kt + k0 * dim, kBlockK, p, kBlockK,
                 false,
                 [&](int r, int, Vec s) { return cpu::exp2_no_overflow(cpu::fma(s, vc, Vec::set1(shift[r]))); });
      mask_block(h, q0, rows, k0, width, p, kBlockK, 0.0f);
      // dS = P (dO V^T - delta), likewise fused into the dP product; with dropout dS = P (F o dO V^T - delta),
      // and P becomes P o F for dV.
      const float* d = delta + q0;
      const float* dout_rows = at.dout + q0 * at.ldo;
      if (keep) {
        for (int64_t r = 0; r < rows; ++r) h.drop->factors(h.draw(q0 + r, k0), width, keep + r * kBlockK);
        small_gemm(int(rows), int(width), int(dim), dout_rows, at.ldo, 1, vt + k0 * dim, kBlockK, ds, kBlockK, false,
                   [&](int r, int j, Vec dp_) {
                     const int64_t at_rj = r * kBlockK + j;
                     return Vec::load(p + at_rj) * (dp_ * Vec::load(keep + at_rj) - Vec::set1(d[r]));
                   });
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < width; j += kLanes) {
            const int64_t at_rj = r * kBlockK + j;
            (Vec::load(p + at_rj) * Vec::load(keep + at_rj)).store(p + at_rj);
          }
        }
      } else {
        small_gemm(int(rows), int(width), int(dim), dout_rows, at.ldo, 1, vt + k0 * dim, kBlockK, ds, kBlockK, false,
                   [&](int r, int j, Vec dp_) { return Vec::load(p + r * kBlockK + j) * (dp_ - Vec::set1(d[r])); });
      }
      // dV[keys, dp] += P^T dO ; dK[keys, dp] += dS^T Q ; dQ[rows, dp] += dS K
      small_gemm(int(keys), int(dp), int(rows), p, 1, kBlockK, do_rows.data + q0 * do_rows.ld, do_rows.ld, dv_acc,
                 dp, true);
      small_gemm(int(keys), int(dp), int(rows), ds, 1, kBlockK, q_rows.data + q0 * q_rows.ld, q_rows.ld, dk_acc, dp,
                 true);
      small_gemm(int(rows), int(dp), int(keys), ds, kBlockK, 1, k_rows.data + k0 * k_rows.ld, k_rows.ld,
                 dq_acc + q0 * dp, dp, true);
    }
    for (int64_t j = 0; j < keys; ++j) {
      float* dk_row = at.dk + (k0 + j) * at.ldk;
      float* dv_row = at.dv + (k0 + j) * at.ldv;
      for (int64_t e = 0; e < dim; ++e) {
        dk_row[e] = dk_acc[j * dp + e] * scale;
        dv_row[e] = dv_acc[j * dp + e];
      }
    }
    if (k0 + kBlockK > h.key_len) zero_keys(h.key_len, std::min(k0 + kBlockK, h.len_k));  // past key_len
  }
}

void check_strides_and_dropout(const char* op, const AttentionShape& s, const AttentionStrides& st,
                               const DropoutDraws& dropout) {
  for (const HeadStrides* hs : {&st.q, &st.k, &st.v, &st.out}) {
    ATTN_CHECK(hs->row >= s.head_dim && hs->head >= 0 && hs->batch >= 0,
               "{}: row stride {} is shorter than head_dim {} (or a stride is negative)", op, hs->row, s.head_dim);
  }
  ATTN_CHECK(dropout.p >= 0.0f && dropout.p < 1.0f, "{}: dropout p = {} must be in [0, 1)", op, dropout.p);
}

}  // namespace

void check_attention_args(const char* op, const AttentionShape& s, const AttentionMask& mask) {
  ATTN_CHECK(s.batch > 0 && s.heads > 0 && s.len_q > 0 && s.len_k > 0 && s.head_dim > 0,
             "{}: every dimension must be positive, got [batch, heads, len_q, len_k, head_dim] = [{}, {}, {}, {}, {}]",
             op, s.batch, s.heads, s.len_q, s.len_k, s.head_dim);
  if (mask.key_lengths) {
    for (int64_t b = 0; b < s.batch; ++b) {
      ATTN_CHECK(mask.key_lengths[b] >= 0 && mask.key_lengths[b] <= s.len_k,
                 "{}: key length {} of batch element {} is outside [0, {}] (len_k)", op, mask.key_lengths[b], b,
                 s.len_k);
    }
  }
}

AttentionStrides contiguous_strides(const AttentionShape& s) {
  const HeadStrides q{s.heads * s.len_q * s.head_dim, s.len_q * s.head_dim, s.head_dim};
  const HeadStrides k{s.heads * s.len_k * s.head_dim, s.len_k * s.head_dim, s.head_dim};
  return {q, k, k, q};
}

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse) {
  attention_forward_strided(s, q, k, v, contiguous_strides(s), mask, scale, out, lse);
}

void attention_forward_strided(const AttentionShape& s, const float* q, const float* k, const float* v,
                               const AttentionStrides& st, const AttentionMask& mask, float scale, float* out,
                               float* lse, const DropoutDraws& dropout) {
  check_attention_args("attention_forward", s, mask);
  ATTN_CHECK(std::isfinite(scale) && scale > 0, "attention_forward: scale must be positive and finite, got {}",
             scale);
  check_strides_and_dropout("attention_forward", s, st, dropout);
  const DropoutKeep keep(dropout.p, dropout.seed);
  const DropoutKeep* drop = dropout.p > 0.0f ? &keep : nullptr;
  const int64_t heads = s.batch * s.heads, q_blocks = (s.len_q + kBlockQ - 1) / kBlockQ;
#pragma omp parallel
  {
    static thread_local ForwardScratch ws;
    ws.packed_head = -1;  // inputs change between calls
    // Static contiguous ranges: each thread walks whole heads, packing K and V once per head.
#pragma omp for schedule(static)
    for (int64_t task = 0; task < heads * q_blocks; ++task) {
      const int64_t bh = task / q_blocks, qb = task % q_blocks;
      auto offset = [&](const HeadStrides& hs) { return head_offset(hs, s, bh); };
      const HeadRows at{q + offset(st.q),   k + offset(st.k), v + offset(st.v), out + offset(st.out),
                        lse ? lse + bh * s.len_q : nullptr,  st.q.row,        st.k.row, st.v.row,
                        st.out.row};
      forward_block(head_of(s, mask, drop, dropout.offset, bh), bh, at, scale, qb * kBlockQ, ws);
    }
  }
}

void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* out,
                        const float* dout, const float* lse, const AttentionMask& mask, float scale, float* dq,
                        float* dk, float* dv) {
  attention_backward_strided(s, q, k, v, out, dout, lse, contiguous_strides(s), mask, scale, dq, dk, dv);
}

void attention_backward_strided(const AttentionShape& s, const float* q, const float* k, const float* v,
                                const float* out, const float* dout, const float* lse, const AttentionStrides& st,
                                const AttentionMask& mask, float scale, float* dq, float* dk, float* dv,
                                const DropoutDraws& dropout) {
  check_attention_args("attention_backward", s, mask);
  ATTN_CHECK(std::isfinite(scale) && scale > 0, "attention_backward: scale must be positive and finite, got {}",
             scale);
  check_strides_and_dropout("attention_backward", s, st, dropout);
  const DropoutKeep keep(dropout.p, dropout.seed);
  const DropoutKeep* drop = dropout.p > 0.0f ? &keep : nullptr;
  const int64_t heads = s.batch * s.heads, dim = s.head_dim, dp = round_up(dim, kLanes);
  const int64_t k_blocks = (s.len_k + kBlockK - 1) / kBlockK;
  // Few heads for many threads: split each head's key blocks into parts, each with its own dQ, summed at the end.
  const int64_t threads = omp_get_max_threads();
  const int64_t parts = heads >= threads ? 1 : std::min(k_blocks, (2 * threads + heads - 1) / heads);
  std::vector<float> delta(static_cast<size_t>(heads * s.len_q));
  std::vector<float> dq_parts(static_cast<size_t>(parts > 1 ? parts * heads * s.len_q * dp : 0));
  auto dq_row = [&](int64_t bh, int64_t i) { return dq + head_offset(st.q, s, bh) + i * st.q.row; };

#pragma omp parallel
  {
    // delta[i] = rowsum(dO o out): the softmax backward's per-row term
#pragma omp for schedule(static)
    for (int64_t row = 0; row < heads * s.len_q; ++row) {
      const int64_t bh = row / s.len_q, at = head_offset(st.out, s, bh) + row % s.len_q * st.out.row;
      const float *o = out + at, *g = dout + at;
      Vec acc = Vec::zero();
      int64_t d = 0;
      for (; d + kLanes <= dim; d += kLanes) acc = cpu::fma(Vec::load(g + d), Vec::load(o + d), acc);
      float sum = acc.reduce_add();
      for (; d < dim; ++d) sum += g[d] * o[d];
      delta[row] = sum;
    }
    static thread_local BackwardScratch ws;
    static thread_local std::vector<float> dq_scratch;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < heads * parts; ++task) {
      const int64_t bh = task / parts, part = task % parts;
      const Head h = head_of(s, mask, drop, dropout.offset, bh);
      const int64_t kb_begin = k_blocks * part / parts, kb_end = k_blocks * (part + 1) / parts;
      float* dq_acc = parts > 1 ? dq_parts.data() + (part * heads + bh) * s.len_q * dp
                                : scratch(dq_scratch, s.len_q * dp);
      if (parts == 1) std::fill(dq_acc, dq_acc + s.len_q * dp, 0.0f);
      const int64_t ok = head_offset(st.k, s, bh), ov = head_offset(st.v, s, bh), oo = head_offset(st.out, s, bh);
      const BackwardHead at{q + head_offset(st.q, s, bh), k + ok, v + ov, dout + oo, dk + ok, dv + ov,
                            st.q.row, st.k.row, st.v.row, st.out.row};
      backward_keys(h, at, lse + bh * s.len_q, delta.data() + bh * s.len_q, scale, kb_begin, kb_end, dq_acc, ws);
      if (parts == 1) {
        for (int64_t i = 0; i < s.len_q; ++i) {
          float* dst = dq_row(bh, i);
          for (int64_t d = 0; d < dim; ++d) dst[d] = dq_acc[i * dp + d] * scale;
        }
      }
    }
    if (parts > 1) {
#pragma omp for schedule(static)
      for (int64_t row = 0; row < heads * s.len_q; ++row) {
        float* dst = dq_row(row / s.len_q, row % s.len_q);
        for (int64_t d = 0; d < dim; ++d) {
          float acc = 0;
          for (int64_t part = 0; part < parts; ++part) acc += dq_parts[(part * heads * s.len_q + row) * dp + d];
          dst[d] = acc * scale;
        }
      }
    }
  }
}

void attention_with_weights(const AttentionShape& s, const float* q, const float* k, const float* v,
                            const AttentionMask& mask, float scale, float* out, float* weights) {
  check_attention_args("attention_with_weights", s, mask);
  ATTN_CHECK(std::isfinite(scale) && scale > 0, "attention_with_weights: scale must be positive and finite, got {}",
             scale);
  const int64_t heads = s.batch * s.heads, dim = s.head_dim, lq = s.len_q, lk = s.len_k;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t bh = 0; bh < heads; ++bh) {
    const Head h = head_of(s, mask, nullptr, 0, bh);
    float* w = weights + bh * lq * lk;
    // W = scale Q K^T, masked, softmax by row (a row that sees nothing is all zeros)
    gemm(false, true, lq, lk, dim, scale, q + bh * lq * dim, dim, k + bh * lk * dim, dim, 0.0f, w, lk);
    for (int64_t i = 0; i < lq; ++i) std::fill(w + i * lk + h.visible_end(i), w + (i + 1) * lk, kNegInf);
    softmax_forward(w, w, lq, lk, 1);
    if (out) gemm(false, false, lq, dim, lk, 1.0f, w, lk, v + bh * lk * dim, dim, 0.0f, out + bh * lq * dim, dim);
  }
}

}  // namespace attn::kernels
