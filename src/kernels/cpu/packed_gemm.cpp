#include "kernels/cpu/packed_gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "attn/kernels/gemm.h"
#include "kernels/cpu/small_gemm.h"
#include "kernels/cpu/transpose.h"

namespace attn::kernels::cpu {
namespace {

constexpr int kPanel = kTileVecs * kLanes;  // columns per panel: one tile's width
// Up to this many rows this kernel, packing op(B) per call, is at least as fast as the BLAS (attn_bench
// --benchmark_filter=Linear: level at 64-128 rows, 1.4x at 1-6 rows; with the weight packed once, 3-10x).
// Taller products take it too when they have a column panel for every thread: at 4096 rows and k, n of 128-512
// (a training batch through a Transformer's linears) it ran at 390-430 GFLOP/s on two AVX-512 cores where
// OpenBLAS 0.3.21 ran at 140-270 (one thread: 200-220 against 170-205).
constexpr int64_t kMaxRows = 128;
// This kernel does not block over k inside a call, so a panel (k x kPanel) and a tile's rows of A must stay
// cache-sized: deeper products with few rows go to the BLAS, and tall ones (a weight gradient sums over every row
// of a batch) run as slices of kDepthSlice, C accumulating (4096 x 128-512 x 128-512 weight gradients: 210-235
// GFLOP/s on one AVX-512 core against OpenBLAS's 195-205, 380-465 on two against 220-365).
constexpr int64_t kMaxDepth = 1024;
constexpr int64_t kDepthSlice = 512;
// Panels per pass over the rows of A: their k x kPanel floats stay in L2 while every row block reads them.
constexpr int64_t kPanelBytesPerPass = 256 * 1024;
// Below this many multiply-adds one thread does the whole product: waking a second costs more.
constexpr double kParallelMacs = 1 << 20;

// Panel q of op(B) as [k][kPanel], columns past n zero.
void pack_panel(bool trans_b, int64_t n, int64_t k, const float* b, int64_t ldb, int64_t q, float* dst) {
  const int64_t j0 = q * kPanel, width = std::min<int64_t>(kPanel, n - j0);
  if (trans_b) {  // B is stored [n, k]: the panel's rows are columns of the stored matrix
    pack_transposed(b + j0 * ldb, ldb, width, kPanel, k, dst, kPanel);
    return;
  }
  for (int64_t p = 0; p < k; ++p) {
    std::memcpy(dst + p * kPanel, b + p * ldb + j0, sizeof(float) * width);
    std::fill(dst + p * kPanel + width, dst + (p + 1) * kPanel, 0.0f);
  }
}

// C[MR rows, NP panels] (+)= A[MR, k] * panels, panel i at b + i * panel_floats: small_gemm.h's tile, widened to
// NP panels for the tail rows so that they keep as many independent accumulator chains in flight.
template <int MR, int NP, class A, class Epilogue>
void panel_tile(int64_t k, const float* a, const A& layout, const float* b, int64_t panel_floats, float* c,
                int64_t ldc, bool accumulate, int64_t row0, int64_t col0, const Epilogue& epilogue) {
  gemm_tile<MR, NP * kTileVecs>(int(k), a, layout, b, PanelsB<kPanel>{panel_floats}, c, ldc, accumulate, int(row0),
                                int(col0), epilogue);
}

// GemmEpilogue on one vector of C at (row, col); a null part is skipped by a branch the tile's loop predicts.
struct FusedEpilogue {
  GemmEpilogue e;
  Vec operator()(int row, int col, Vec v) const {
    if (e.bias) v = v + Vec::load(e.bias + col);
    if (e.relu) v = max(v, Vec::zero());
    if (e.residual) v = v + Vec::load(e.residual + row * e.ld_residual + col);
    return v;
  }
  float scalar(int64_t row, int64_t col, float v) const {
    if (e.bias) v += e.bias[col];
    if (e.relu) v = std::max(v, 0.0f);
    if (e.residual) v += e.residual[row * e.ld_residual + col];
    return v;
  }
};

struct Product {
  int64_t m, n, k;
  const float* a;
  float* c;
  int64_t ldc;
  bool accumulate;
  const float* panels;  // all of op(B), packed
  int64_t panel_floats;  // k * kPanel
};

// MR rows of C starting at row i, panels [q0, q1). The last panel may reach past n: it goes through a
// kPanel-wide buffer, and only the columns inside C get the epilogue (bias holds n values) and are copied back.
template <int MR, int NP, class A, class Epilogue>
void row_block(const Product& pr, const A& layout, const Epilogue& epilogue, int64_t i, int64_t q0, int64_t q1) {
  const float* a = pr.a + layout.at(int(i), 0);
  float* c = pr.c + i * pr.ldc;
  const int64_t full = std::min(q1, pr.n / kPanel);  // panels wholly inside C
  int64_t q = q0;
  for (; q + NP <= full; q += NP) {
    panel_tile<MR, NP>(pr.k, a, layout, pr.panels + q * pr.panel_floats, pr.panel_floats, c + q * kPanel, pr.ldc,
                       pr.accumulate, i, q * kPanel, epilogue);
  }
  for (; q < q1; ++q) {  // what is left one panel at a time, through the buffer when it sticks out
    const int64_t j0 = q * kPanel, width = std::min<int64_t>(kPanel, pr.n - j0);
    if (width == kPanel) {
      panel_tile<MR, 1>(pr.k, a, layout, pr.panels + q * pr.panel_floats, pr.panel_floats, c + j0, pr.ldc,
                        pr.accumulate, i, j0, epilogue);
      continue;
    }
    alignas(64) float tile[MR * kPanel] = {};
    if (pr.accumulate)
      for (int r = 0; r < MR; ++r) std::memcpy(tile + r * kPanel, c + r * pr.ldc + j0, sizeof(float) * width);
    panel_tile<MR, 1>(pr.k, a, layout, pr.panels + q * pr.panel_floats, pr.panel_floats, tile, kPanel,
                      pr.accumulate, 0, 0, NoEpilogue{});
    for (int r = 0; r < MR; ++r) {
      if constexpr (std::is_same_v<Epilogue, NoEpilogue>) {
        std::memcpy(c + r * pr.ldc + j0, tile + r * kPanel, sizeof(float) * width);
      } else {
        for (int64_t j = 0; j < width; ++j) {
          c[r * pr.ldc + j0 + j] = epilogue.scalar(i + r, j0 + j, tile[r * kPanel + j]);
        }
      }
    }
  }
}

// Rows [0, m) against panels [q0, q1): full tiles of kTileRows, then the remaining rows with wider tiles.
template <class A, class Epilogue>
void multiply_panels(const Product& pr, const A& layout, const Epilogue& e, int64_t q0, int64_t q1) {
  // A 5- or 4-row tile of one panel has 20 or 16 accumulators on AVX-512, enough to keep the FMAs busy, and 4 rows
  // left after full tiles go better with the last of them as 5 + 5 (a 64-row product, as a batch-1 Transformer
  // over 64 tokens makes: 6 % faster end to end). On AVX2 such tiles have only 10 or 8 accumulators, so those rows
  // go as 3 + 2 and 2 + 2 with wider tiles.
  constexpr bool kFewRowsFit = kTileVecs >= 4;
  int64_t full = pr.m / kTileRows * kTileRows;
  if (kFewRowsFit && pr.m - full == 4 && full > 0) full -= kTileRows;
  int64_t i = 0;
  for (; i < full; i += kTileRows) row_block<kTileRows, 1>(pr, layout, e, i, q0, q1);
  if constexpr (kFewRowsFit) {
    if (pr.m - i == 10) {
      row_block<5, 1>(pr, layout, e, i, q0, q1);
      i += 5;
    }
    if (pr.m - i == 5) {
      row_block<5, 1>(pr, layout, e, i, q0, q1);
      return;
    }
    if (pr.m - i == 4) {
      row_block<4, 1>(pr, layout, e, i, q0, q1);
      return;
    }
  }
  switch (pr.m - i) {
    case 5:
      row_block<3, 2>(pr, layout, e, i, q0, q1);
      row_block<2, 3>(pr, layout, e, i + 3, q0, q1);
      break;
    case 4:
      row_block<2, 3>(pr, layout, e, i, q0, q1);
      row_block<2, 3>(pr, layout, e, i + 2, q0, q1);
      break;
    case 3: row_block<3, 2>(pr, layout, e, i, q0, q1); break;
    case 2: row_block<2, 3>(pr, layout, e, i, q0, q1); break;
    case 1: row_block<1, 4>(pr, layout, e, i, q0, q1); break;
    default: break;
  }
}

// Where the panels come from: packed from B into `dst` (= Product::panels) by this call, or before (b null).
struct Source {
  bool trans_b;
  const float* b;
  int64_t ldb;
  float* dst;
};

// Packs (when needed) and multiplies panels [q0, q1) in passes that keep the packed panels in L2.
template <class A, class Epilogue>
void run_panels(const Product& pr, const A& layout, const Epilogue& e, const Source& src, int64_t q0, int64_t q1) {
  const int64_t per_pass = std::max<int64_t>(1, kPanelBytesPerPass / int64_t(sizeof(float) * pr.panel_floats));
  for (int64_t p0 = q0; p0 < q1; p0 += per_pass) {
    const int64_t p1 = std::min(q1, p0 + per_pass);
    for (int64_t q = p0; src.b && q < p1; ++q) {
      pack_panel(src.trans_b, pr.n, pr.k, src.b, src.ldb, q, src.dst + q * pr.panel_floats);
    }
    multiply_panels(pr, layout, e, p0, p1);
  }
}

template <class A, class Epilogue = NoEpilogue>
void run(const Product& pr, const A& layout, const Source& src, const Epilogue& e = {}) {
  const int64_t panels = (pr.n + kPanel - 1) / kPanel;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads == 1 || panels == 1 || double(pr.m) * double(pr.n) * double(pr.k) < kParallelMacs) {
    run_panels(pr, layout, e, src, 0, panels);
    return;
  }
#pragma omp parallel num_threads(int(std::min<int64_t>(threads, panels)))
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    run_panels(pr, layout, e, src, panels * t / nt, panels * (t + 1) / nt);
  }
}

int64_t panel_count(int64_t n) { return (n + kPanel - 1) / kPanel; }

}  // namespace

bool packed_gemm_suits(int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  if (!(alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && m >= 1 && n >= 1 && k >= 1)) return false;
  if (m <= kMaxRows) return k <= kMaxDepth;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return panel_count(n) >= threads;  // run() threads over column panels only
}

void packed_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (k > kMaxDepth) {
    for (int64_t p0 = 0; p0 < k; p0 += kDepthSlice) {
      packed_gemm(trans_a, trans_b, m, n, std::min(kDepthSlice, k - p0), trans_a ? a + p0 * lda : a + p0, lda,
                  trans_b ? b + p0 : b + p0 * ldb, ldb, p0 == 0 ? beta : 1.0f, c, ldc);
    }
    return;
  }
  static thread_local std::vector<float> packed;  // keeps its capacity from call to call
  const int64_t floats = panel_count(n) * k * kPanel;
  if (int64_t(packed.size()) < floats) packed.resize(size_t(floats));
  const Product pr{m, n, k, a, c, ldc, beta != 0.0f, packed.data(), k * kPanel};
  const Source src{trans_b, b, ldb, packed.data()};
  if (trans_a) {
    run(pr, ColumnMajorA{lda}, src);
  } else {
    run(pr, RowMajorA{lda}, src);
  }
}

}  // namespace attn::kernels::cpu

namespace attn::kernels {

using cpu::kPanel;

PackedWeight pack_weight(int64_t n, int64_t k, const float* w) {
  PackedWeight out{n, k, std::vector<float>(size_t(cpu::panel_count(n) * k * kPanel))};
  for (int64_t q = 0; q < cpu::panel_count(n); ++q) {
    cpu::pack_panel(true, n, k, w, k, q, out.panels.data() + q * k * kPanel);
  }
  return out;
}

// A packed weight is multiplied whole: no slicing over k.
bool packed_weight_suits(int64_t m, int64_t n, int64_t k) {
  return k <= cpu::kMaxDepth && cpu::packed_gemm_suits(m, n, k, 1.0f, 0.0f);
}

void gemm_packed_weight(int64_t m, const float* a, int64_t lda, const PackedWeight& w, float beta, float* c,
                        int64_t ldc, const GemmEpilogue& epilogue) {
  if (m == 0 || w.n == 0) return;
  const cpu::Product pr{m, w.n, w.k, a, c, ldc, beta != 0.0f, w.panels.data(), w.k * kPanel};
  const cpu::Source src{true, nullptr, 0, nullptr};
  if (epilogue.bias || epilogue.relu || epilogue.residual) {
    cpu::run(pr, cpu::RowMajorA{lda}, src, cpu::FusedEpilogue{epilogue});
  } else {
    cpu::run(pr, cpu::RowMajorA{lda}, src);
  }
}

}  // namespace attn::kernels
