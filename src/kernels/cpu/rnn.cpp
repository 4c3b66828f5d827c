#include "attn/kernels/rnn.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "attn/core/error.h"
#include "attn/kernels/gemm.h"
#include "attn/kernels/reduce.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/small_gemm.h"
#include "kernels/cpu/transpose.h"
#include "kernels/cpu/vec_math.h"

namespace attn::kernels {
namespace {

using cpu::kLanes;
using cpu::Vec;

// f(j, n) over [0, size) in whole vectors, then one partial vector of n < kLanes lanes.
template <class F>
inline void over_lanes(int64_t size, F&& f) {
  int64_t j = 0;
  for (; j + kLanes <= size; j += kLanes) f(j, kLanes);
  if (j < size) f(j, int(size - j));
}
inline Vec ld(const float* p, int n) { return n == kLanes ? Vec::load(p) : Vec::load_partial(p, n); }
inline void st(Vec v, float* p, int n) {
  if (n == kLanes) {
    v.store(p);
  } else {
    v.store_partial(p, n);
  }
}
inline Vec one() { return Vec::set1(1.0f); }

// Time slots of the state history (see RnnSaved): a step at t reads slot prev(t) and writes slot next(t).
struct Slots {
  bool reverse;
  int64_t prev(int64_t t) const { return reverse ? t + 1 : t; }
  int64_t next(int64_t t) const { return reverse ? t : t + 1; }
  int64_t first_prev() const { return reverse ? 1 : 0; }  // slots prev(0..T-1) are [first_prev, first_prev + T)
};

// Rows of the sorted batch that start at time t: all at t = 0 going forward; going backward in time, those whose
// last step is t.
std::pair<int64_t, int64_t> starting_rows(const RnnBatch& b, bool reverse, int64_t t) {
  if (!reverse) return t == 0 ? std::pair<int64_t, int64_t>{0, b.active[0]} : std::pair<int64_t, int64_t>{0, 0};
  return {t + 1 < b.time ? b.active[size_t(t + 1)] : 0, b.active[size_t(t)]};
}

// dst[i] = src[order[i]] for rows [begin, end) of H floats (zeros when src is null).
void gather_rows(const RnnBatch& b, int64_t h, const float* src, float* dst, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float* d = dst + i * h;
    if (src) {
      std::memcpy(d, src + int64_t(b.order[size_t(i)]) * h, size_t(h) * sizeof(float));
    } else {
      std::memset(d, 0, size_t(h) * sizeof(float));
    }
  }
}

// The right operand of the per-step product, B [k, n]: src as it is ([k, n] row-major) or, with transposed, src^T
// (src [n, k] row-major), packed once per layer call into panels of kPanel columns, each [k, width] contiguous,
// so a tile streams its part of B from consecutive addresses. A BLAS call would repack B on every step, which
// costs more than the product at small batches.
class StepWeights {
 public:
  static constexpr int64_t kPanel = 8 * cpu::kLanes;

  StepWeights(int64_t k, int64_t n, const float* src, bool transposed)
      : k_(k), n_(n), src_(src), transposed_(transposed) {
    if (!tiled()) return;
    packed_.resize(static_cast<size_t>(k * n));
    for (int64_t j0 = 0; j0 < n; j0 += kPanel) {
      const int64_t width = std::min(kPanel, n - j0);
      float* panel = packed_.data() + j0 * k;
      if (!transposed) {
        for (int64_t p = 0; p < k; ++p) std::memcpy(panel + p * width, src + p * n + j0, size_t(width) * sizeof(float));
      } else {
        cpu::pack_transposed(src + j0 * k, k, width, width, k, panel, width);
      }
    }
  }

  // c [m, n] (+)= a [m, k] B. Rows are split over the threads in whole tiles when the product is big enough and
  // no team is running yet (the two directions of a bidirectional layer run on a thread each).
  void multiply(int64_t m, const float* a, int64_t lda, float* c, int64_t ldc, bool accumulate) const {
    if (m == 0) return;
    if (!tiled()) {
      gemm(false, transposed_, m, n_, k_, 1.0f, a, lda, src_, transposed_ ? k_ : n_, accumulate ? 1.0f : 0.0f, c,
           ldc);
      return;
    }
    const int64_t blocks = (m + cpu::kTileRows - 1) / cpu::kTileRows;
    const int threads = omp_in_parallel() ? 1 : int(std::min<int64_t>(omp_get_max_threads(), blocks));
    if (threads < 2 || m * n_ * k_ < cpu::kParallelWork * 16) {
      rows(0, m, a, lda, c, ldc, accumulate);
      return;
    }
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      rows(std::min(m, blocks * t / nt * cpu::kTileRows), std::min(m, blocks * (t + 1) / nt * cpu::kTileRows), a,
           lda, c, ldc, accumulate);
    }
  }

 private:
  bool tiled() const { return n_ % cpu::kLanes == 0; }  // the tiles need whole vectors per row

  void rows(int64_t begin, int64_t end, const float* a, int64_t lda, float* c, int64_t ldc, bool accumulate) const {
    for (int64_t j0 = 0; j0 < n_; j0 += kPanel) {
      const int64_t width = std::min(kPanel, n_ - j0);
      cpu::small_gemm(int(end - begin), int(width), int(k_), a + begin * lda, lda, 1, packed_.data() + j0 * k_,
                      width, c + begin * ldc + j0, ldc, accumulate);
    }
  }

  int64_t k_, n_;
  const float* src_;
  bool transposed_;
  std::vector<float> packed_;
};

// ---- Forward cells: one row (sorted example i at time t) ---------------------------------------------------------
// pre: the row's gate pre-activations without biases (x W_ih^T, plus h W_hh^T for LSTM / Elman); bias = b_ih + b_hh.

void lstm_cell_forward(int64_t H, float* g, const float* bias, const float* c_prev, float* c, float* h, float* y) {
  over_lanes(H, [&](int64_t j, int n) {
    Vec gi = cpu::sigmoid(ld(g + j, n) + ld(bias + j, n));
    Vec gf = cpu::sigmoid(ld(g + H + j, n) + ld(bias + H + j, n));
    Vec gg = cpu::tanh(ld(g + 2 * H + j, n) + ld(bias + 2 * H + j, n));
    Vec go = cpu::sigmoid(ld(g + 3 * H + j, n) + ld(bias + 3 * H + j, n));
    Vec cn = cpu::fma(gf, ld(c_prev + j, n), gi * gg);
    Vec hn = go * cpu::tanh(cn);
    st(gi, g + j, n);
    st(gf, g + H + j, n);
    st(gg, g + 2 * H + j, n);
    st(go, g + 3 * H + j, n);
    st(cn, c + j, n);
    st(hn, h + j, n);
    st(hn, y + j, n);
  });
}

// g [r z n | hn]: x W_ih^T in the first 3H on entry; hg = h W_hh^T [3H].
void gru_cell_forward(int64_t H, float* g, const float* hg, const float* bias, const float* b_ih, const float* b_hh,
                      const float* h_prev, float* h, float* y) {
  over_lanes(H, [&](int64_t j, int n) {
    Vec r = cpu::sigmoid(ld(g + j, n) + ld(hg + j, n) + ld(bias + j, n));
    Vec z = cpu::sigmoid(ld(g + H + j, n) + ld(hg + H + j, n) + ld(bias + H + j, n));
    Vec hn = ld(hg + 2 * H + j, n) + ld(b_hh + 2 * H + j, n);
    Vec nn = cpu::tanh(cpu::fma(r, hn, ld(g + 2 * H + j, n) + ld(b_ih + 2 * H + j, n)));
    Vec hp = ld(h_prev + j, n);
    Vec out = cpu::fma(z, hp - nn, nn);  // (1-z) n + z h
    st(r, g + j, n);
    st(z, g + H + j, n);
    st(nn, g + 2 * H + j, n);
    st(hn, g + 3 * H + j, n);
    st(out, h + j, n);
    st(out, y + j, n);
  });
}

void elman_cell_forward(int64_t H, bool relu, const float* g, const float* bias, float* h, float* y) {
  over_lanes(H, [&](int64_t j, int n) {
    Vec pre = ld(g + j, n) + ld(bias + j, n);
    Vec out = relu ? cpu::max(pre, Vec::zero()) : cpu::tanh(pre);
    st(out, h + j, n);
    st(out, y + j, n);
  });
}

// ---- Backward cells ---------------------------------------------------------------------------------------------
// dh: gradient of the state after the step (in: from the next step; out: to the previous state's direct path, GRU);
// g: the saved gates (in), the pre-activation gradients (out).

void lstm_cell_backward(int64_t H, float* g, const float* c_prev, const float* c, const float* dy, const float* dh,
                        float* dc) {
  over_lanes(H, [&](int64_t j, int n) {
    Vec gi = ld(g + j, n), gf = ld(g + H + j, n), gg = ld(g + 2 * H + j, n), go = ld(g + 3 * H + j, n);
    Vec d = ld(dh + j, n) + ld(dy + j, n);
    Vec tc = cpu::tanh(ld(c + j, n));
    Vec dct = cpu::fma(d * go, cpu::fnma(tc, tc, one()), ld(dc + j, n));  // dc + dh o (1 - tanh^2 c)
    Vec d_o = d * tc * go * (one() - go);
    Vec d_i = dct * gg * gi * (one() - gi);
    Vec d_f = dct * ld(c_prev + j, n) * gf * (one() - gf);
    Vec d_g = dct * gi * cpu::fnma(gg, gg, one());
    st(d_i, g + j, n);
    st(d_f, g + H + j, n);
    st(d_g, g + 2 * H + j, n);
    st(d_o, g + 3 * H + j, n);
    st(dct * gf, dc + j, n);
  });
}

// Gradients in g: [r z | n through W_hn h | n through W_in x].
void gru_cell_backward(int64_t H, float* g, const float* h_prev, const float* dy, float* dh) {
  over_lanes(H, [&](int64_t j, int n) {
    Vec r = ld(g + j, n), z = ld(g + H + j, n), nn = ld(g + 2 * H + j, n), hn = ld(g + 3 * H + j, n);
    Vec d = ld(dh + j, n) + ld(dy + j, n);
    Vec dnp = d * (one() - z) * cpu::fnma(nn, nn, one());
    Vec dz = d * (ld(h_prev + j, n) - nn) * z * (one() - z);
    Vec dr = dnp * hn * r * (one() - r);
    st(dr, g + j, n);
    st(dz, g + H + j, n);
    st(dnp * r, g + 2 * H + j, n);
    st(dnp, g + 3 * H + j, n);
    st(d * z, dh + j, n);
  });
}

void elman_cell_backward(int64_t H, bool relu, float* g, const float* h, const float* dy, const float* dh) {
  over_lanes(H, [&](int64_t j, int n) {
    Vec d = ld(dh + j, n) + ld(dy + j, n);
    Vec out = ld(h + j, n);
    Vec dpre = relu ? cpu::select_greater(out, Vec::zero(), d, Vec::zero()) : d * cpu::fnma(out, out, one());
    st(dpre, g + j, n);
  });
}

}  // namespace

int64_t rnn_gate_count(RnnCell cell) {
  switch (cell) {
    case RnnCell::kLstm: return 4;
    case RnnCell::kGru: return 3;
    default: return 1;
  }
}

const char* rnn_cell_name(RnnCell cell) {
  switch (cell) {
    case RnnCell::kTanh: return "RNN_TANH";
    case RnnCell::kRelu: return "RNN_RELU";
    case RnnCell::kLstm: return "LSTM";
    case RnnCell::kGru: return "GRU";
  }
  return "?";
}

int64_t rnn_gate_width(const RnnDims& d) {
  return d.cell == RnnCell::kLstm || d.cell == RnnCell::kGru ? 4 * d.hidden : d.hidden;
}

RnnBatch rnn_batch(const char* op, int64_t batch, int64_t time, const int32_t* lengths) {
  ATTN_CHECK(batch > 0 && time > 0, "{}: empty batch [{} examples, {} steps]", op, batch, time);
  RnnBatch b;
  b.batch = batch;
  b.time = time;
  b.order.resize(size_t(batch));
  std::iota(b.order.begin(), b.order.end(), 0);
  b.length.assign(size_t(batch), int32_t(time));
  b.active.assign(size_t(time), batch);
  if (!lengths) return b;
  for (int64_t i = 0; i < batch; ++i) {
    ATTN_CHECK(lengths[i] >= 1 && lengths[i] <= time,
               "{}: length {} of example {} is outside [1, {}] (the input has {} time steps)", op, lengths[i], i,
               time, time);
  }
  std::stable_sort(b.order.begin(), b.order.end(), [&](int32_t a, int32_t c) { return lengths[a] > lengths[c]; });
  for (int64_t i = 0; i < batch; ++i) b.length[size_t(i)] = lengths[b.order[size_t(i)]];
  for (int64_t t = 0; t < time; ++t) {
    int64_t n = 0;
    while (n < batch && b.length[size_t(n)] > t) ++n;
    b.active[size_t(t)] = n;
  }
  return b;
}

void rnn_gather_input(const RnnBatch& b, int64_t input, const float* x, float* xs) {
  const int64_t B = b.batch, T = b.time;
  cpu::parallel_for(T * B, input, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t t = r / B, i = r % B;
      float* dst = xs + r * input;
      if (t < b.length[size_t(i)]) {
        std::memcpy(dst, x + (int64_t(b.order[size_t(i)]) * T + t) * input, size_t(input) * sizeof(float));
      } else {
        std::memset(dst, 0, size_t(input) * sizeof(float));
      }
    }
  });
}

void rnn_scatter_input_grad(const RnnBatch& b, int64_t input, const float* dxs, float* dx) {
  const int64_t B = b.batch, T = b.time;
  cpu::parallel_for(B * T, input, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r / T, t = r % T;  // i: sorted position; writes go to example order[i]
      float* dst = dx + (int64_t(b.order[size_t(i)]) * T + t) * input;
      if (t < b.length[size_t(i)]) {
        std::memcpy(dst, dxs + (t * B + i) * input, size_t(input) * sizeof(float));
      } else {
        std::memset(dst, 0, size_t(input) * sizeof(float));
      }
    }
  });
}

void rnn_forward(const RnnBatch& b, const RnnDims& d, const float* xs, const RnnWeights& w, const float* h0,
                 const float* c0, const RnnSaved& saved, float* y, int64_t ldy, float* h_n, float* c_n) {
  const int64_t B = b.batch, T = b.time, H = d.hidden, W = rnn_gate_width(d), GH = rnn_gate_count(d.cell) * H;
  const bool lstm = d.cell == RnnCell::kLstm, gru = d.cell == RnnCell::kGru, relu = d.cell == RnnCell::kRelu;
  const Slots slot{d.reverse};
  std::vector<float> bias(static_cast<size_t>(GH));
  for (int64_t j = 0; j < GH; ++j) bias[size_t(j)] = w.b_ih[j] + w.b_hh[j];
  const StepWeights w_hh_t(H, GH, w.w_hh, true);  // W_hh^T [H, GH]

  // [T*B, GH] = xs [T*B, I] W_ih^T: every step's input projection in one GEMM.
  gemm(false, true, T * B, GH, d.input, 1.0f, xs, d.input, w.w_ih, d.input, 0.0f, saved.gates, W);

  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = d.reverse ? T - 1 - s : s, n = b.active[size_t(t)];
    float* g = saved.gates + t * B * W;
    float* hp = saved.states + slot.prev(t) * B * H;
    float* hn = saved.states + slot.next(t) * B * H;
    float* cp = lstm ? saved.cells + slot.prev(t) * B * H : nullptr;
    float* cn = lstm ? saved.cells + slot.next(t) * B * H : nullptr;
    auto [start, stop] = starting_rows(b, d.reverse, t);
    gather_rows(b, H, h0, hp, start, stop);
    if (lstm) gather_rows(b, H, c0, cp, start, stop);

    if (gru) {
      w_hh_t.multiply(n, hp, H, saved.scratch, GH, false);
    } else {
      w_hh_t.multiply(n, hp, H, g, W, true);
    }
    cpu::parallel_for(n, W, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float* yi = y + (int64_t(b.order[size_t(i)]) * T + t) * ldy;
        if (lstm) {
          lstm_cell_forward(H, g + i * W, bias.data(), cp + i * H, cn + i * H, hn + i * H, yi);
        } else if (gru) {
          gru_cell_forward(H, g + i * W, saved.scratch + i * GH, bias.data(), w.b_ih, w.b_hh, hp + i * H, hn + i * H,
                           yi);
        } else {
          elman_cell_forward(H, relu, g + i * W, bias.data(), hn + i * H, yi);
        }
      }
    });
  }

  for (int64_t i = 0; i < B; ++i) {
    const int64_t e = b.order[size_t(i)], L = b.length[size_t(i)];
    const int64_t last = d.reverse ? 0 : L;  // slot holding the state after the sequence's last step
    std::memcpy(h_n + e * H, saved.states + (last * B + i) * H, size_t(H) * sizeof(float));
    if (lstm) std::memcpy(c_n + e * H, saved.cells + (last * B + i) * H, size_t(H) * sizeof(float));
    for (int64_t t = L; t < T; ++t) std::memset(y + (e * T + t) * ldy, 0, size_t(H) * sizeof(float));
  }
}

void rnn_backward(const RnnBatch& b, const RnnDims& d, const float* xs, const RnnWeights& w, const RnnSaved& saved,
                  const float* dy, int64_t ldy, const float* dh_n, const float* dc_n, float* dxs, float* dw_ih,
                  float* dw_hh, float* db_ih, float* db_hh, float* dh0, float* dc0) {
  const int64_t B = b.batch, T = b.time, H = d.hidden, I = d.input, W = rnn_gate_width(d);
  const int64_t GH = rnn_gate_count(d.cell) * H;
  const bool lstm = d.cell == RnnCell::kLstm, gru = d.cell == RnnCell::kGru, relu = d.cell == RnnCell::kRelu;
  const Slots slot{d.reverse};
  const StepWeights w_hh(GH, H, w.w_hh, false);  // W_hh [GH, H]

  // The running gradients of the state (and cell) after the current step, in sorted order: [B, H] each.
  std::vector<float> dh(size_t(B * H)), dc(lstm ? size_t(B * H) : 0);
  gather_rows(b, H, dh_n, dh.data(), 0, B);
  if (lstm) gather_rows(b, H, dc_n, dc.data(), 0, B);

  // Steps in the reverse of the forward's order. A sequence's state is frozen outside its steps, so the gradient
  // of h_n reaches its last step untouched and that of its first step's input state is left over as dh0.
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = d.reverse ? s : T - 1 - s, n = b.active[size_t(t)];
    float* g = saved.gates + t * B * W;
    const float* hp = saved.states + slot.prev(t) * B * H;
    const float* hn = saved.states + slot.next(t) * B * H;
    const float* cp = lstm ? saved.cells + slot.prev(t) * B * H : nullptr;
    const float* cn = lstm ? saved.cells + slot.next(t) * B * H : nullptr;
    // Finished rows get zero gate gradients, so the weight-gradient GEMMs below may run over all rows.
    if (n < B) std::memset(g + n * W, 0, size_t((B - n) * W) * sizeof(float));
    cpu::parallel_for(n, W, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float* dyi = dy + (int64_t(b.order[size_t(i)]) * T + t) * ldy;
        if (lstm) {
          lstm_cell_backward(H, g + i * W, cp + i * H, cn + i * H, dyi, dh.data() + i * H, dc.data() + i * H);
        } else if (gru) {
          gru_cell_backward(H, g + i * W, hp + i * H, dyi, dh.data() + i * H);
        } else {
          elman_cell_backward(H, relu, g + i * W, hn + i * H, dyi, dh.data() + i * H);
        }
      }
    });
    // dh_prev [n, H] (+)= dG [n, GH] W_hh [GH, H]; the GRU kept its direct path z*dh in dh.
    w_hh.multiply(n, g, W, dh.data(), H, gru);
  }

  // Weight gradients over all T*B rows at once. Columns of the gate gradients: the W_hh side is [0, GH); the W_ih
  // side the same except for the GRU, whose n gate reads column 3H (the gradient before the r* product).
  const float* hprev = saved.states + slot.first_prev() * B * H;
  gemm(true, false, GH, H, T * B, 1.0f, saved.gates, W, hprev, H, 1.0f, dw_hh, H);
  std::vector<float> colsum(static_cast<size_t>(W));
  reduce_sum(1, T * B, W, saved.gates, colsum.data());
  for (int64_t j = 0; j < GH; ++j) db_hh[j] += colsum[size_t(j)];
  const int64_t direct = gru ? 2 * H : GH;  // ih-side rows whose gradient columns coincide with the hh side's
  gemm(true, false, direct, I, T * B, 1.0f, saved.gates, W, xs, I, 1.0f, dw_ih, I);
  if (dxs) gemm(false, false, T * B, I, direct, 1.0f, saved.gates, W, w.w_ih, I, 1.0f, dxs, I);
  for (int64_t j = 0; j < direct; ++j) db_ih[j] += colsum[size_t(j)];
  if (gru) {
    const float* gn = saved.gates + 3 * H;
    gemm(true, false, H, I, T * B, 1.0f, gn, W, xs, I, 1.0f, dw_ih + 2 * H * I, I);
    if (dxs) gemm(false, false, T * B, I, H, 1.0f, gn, W, w.w_ih + 2 * H * I, I, 1.0f, dxs, I);
    for (int64_t j = 0; j < H; ++j) db_ih[2 * H + j] += colsum[size_t(3 * H + j)];
  }

  for (int64_t i = 0; i < B; ++i) {
    const int64_t e = b.order[size_t(i)];
    if (dh0) std::memcpy(dh0 + e * H, dh.data() + i * H, size_t(H) * sizeof(float));
    if (lstm && dc0) std::memcpy(dc0 + e * H, dc.data() + i * H, size_t(H) * sizeof(float));
  }
}

}  // namespace attn::kernels
