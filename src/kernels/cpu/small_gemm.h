// Register-tiled small matrix products for the fused kernels (attention tiles of ~64 x 64 x head_dim), where a
// BLAS call would cost more in overhead than the product itself. A is read by broadcasting single elements at
// any strides (so A^T costs nothing); B rows and C rows are contiguous and their width n is a multiple of kLanes.
#pragma once
#include <cstdint>

#include "kernels/cpu/simd.h"

namespace attn::kernels::cpu {

// Micro-tile: up to kTileRows rows of C by up to kTileVecs vectors: 24 of 32 zmm accumulators on AVX-512,
// 12 of 16 ymm on AVX2, leaving registers for the B row and the broadcast.
constexpr int kTileRows = 6;
constexpr int kTileVecs = kLanes == 16 ? 4 : 2;

// Applied to each finished vector of C before it is stored: epilogue(row, col, value) with the position of the
// vector's first lane in C. Fusing an elementwise step here saves a pass over C.
struct NoEpilogue {
  Vec operator()(int, int, Vec v) const { return v; }
};

// How a tile finds A(i, p): the two common layouts get the stride that is 1 as a constant, so the inner loop
// addresses A with one pointer (A^T) or one pointer per row (A), none reloaded from the stack.
struct RowMajorA {  // csa == 1
  int64_t rsa;
  int64_t at(int r, int p) const { return r * rsa + p; }
};
struct ColumnMajorA {  // rsa == 1
  int64_t csa;
  int64_t at(int r, int p) const { return r + p * csa; }
};
struct StridedA {
  int64_t rsa, csa;
  int64_t at(int r, int p) const { return r * rsa + p * csa; }
};

// How a tile finds vector v (lanes [v*kLanes, (v+1)*kLanes) of its columns) of B's row p: in rows ldb apart, or
// in panels of `width` columns, each a [k][width] block, panel_floats apart (packed_gemm.cpp).
struct RowsB {
  int64_t ldb;
  int64_t at(int p, int v) const { return p * ldb + v * kLanes; }
};
template <int width>
struct PanelsB {
  int64_t panel_floats;
  int64_t at(int p, int v) const { return (v * kLanes / width) * panel_floats + p * width + (v * kLanes % width); }
};

template <int MR, int NV, class A, class B, class Epilogue>
inline void gemm_tile(int k, const float* a, const A& layout, const float* b, const B& b_layout, float* c,
                      int64_t ldc, bool accumulate, int row0, int col0, const Epilogue& epilogue) {
  Vec acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = accumulate ? Vec::load(c + r * ldc + v * kLanes) : Vec::zero();
  for (int p = 0; p < k; ++p) {
    Vec bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = Vec::load(b + b_layout.at(p, v));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      Vec ar = Vec::set1(a[layout.at(r, p)]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = fma(ar, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) epilogue(row0 + r, col0 + v * kLanes, acc[r][v]).store(c + r * ldc + v * kLanes);
}

// Vectors per tile for MR rows: kTileVecs for full blocks; blocks of fewer rows (the tail of m, or a whole product
// with m < kTileRows such as a batch-1 recurrent step) get wider tiles, so that they still keep about as many
// independent accumulator chains in flight (a 1-row tile of 2 vectors would wait on FMA latency).
template <int MR>
constexpr int row_block_vecs() {
  constexpr int budget = kTileRows * kTileVecs;  // accumulators a full tile uses
  constexpr int fit = budget / MR;
  return fit >= 8 ? 8 : fit >= 4 ? 4 : fit >= 2 ? 2 : 1;
}

// Columns [j, n) of a block of MR rows: tiles of NV vectors, then narrower ones for what is left.
template <int MR, int NV, class A, class Epilogue>
inline void gemm_row_block_from(int j, int n, int k, const float* a, const A& layout, const float* b, int64_t ldb,
                                float* c, int64_t ldc, bool accumulate, int row0, const Epilogue& epilogue) {
  for (; j + NV * kLanes <= n; j += NV * kLanes) {
    gemm_tile<MR, NV>(k, a, layout, b + j, RowsB{ldb}, c + j, ldc, accumulate, row0, j, epilogue);
  }
  if constexpr (NV > 1) {
    if (j < n) gemm_row_block_from<MR, NV / 2>(j, n, k, a, layout, b, ldb, c, ldc, accumulate, row0, epilogue);
  }
}

template <int MR, class A, class Epilogue>
inline void gemm_row_block(int n, int k, const float* a, const A& layout, const float* b, int64_t ldb, float* c,
                           int64_t ldc, bool accumulate, int row0, const Epilogue& epilogue) {
  constexpr int nv = MR == kTileRows ? kTileVecs : row_block_vecs<MR>();
  gemm_row_block_from<MR, nv>(0, n, k, a, layout, b, ldb, c, ldc, accumulate, row0, epilogue);
}

template <class A, class Epilogue>
inline void small_gemm_with(int m, int n, int k, const float* a, const A& layout, const float* b, int64_t ldb,
                            float* c, int64_t ldc, bool accumulate, const Epilogue& epilogue) {
  int i = 0;
  for (; i + kTileRows <= m; i += kTileRows) {
    gemm_row_block<kTileRows>(n, k, a + layout.at(i, 0), layout, b, ldb, c + i * ldc, ldc, accumulate, i, epilogue);
  }
  const float* ai = a + layout.at(i, 0);
  float* ci = c + i * ldc;
  switch (m - i) {
    case 5: gemm_row_block<5>(n, k, ai, layout, b, ldb, ci, ldc, accumulate, i, epilogue); break;
    case 4: gemm_row_block<4>(n, k, ai, layout, b, ldb, ci, ldc, accumulate, i, epilogue); break;
    case 3: gemm_row_block<3>(n, k, ai, layout, b, ldb, ci, ldc, accumulate, i, epilogue); break;
    case 2: gemm_row_block<2>(n, k, ai, layout, b, ldb, ci, ldc, accumulate, i, epilogue); break;
    case 1: gemm_row_block<1>(n, k, ai, layout, b, ldb, ci, ldc, accumulate, i, epilogue); break;
    default: break;
  }
}

// C[m x n] (=|+=) A[m x k] * B[k x n]; A(i, p) = a[i*rsa + p*csa]. n % kLanes == 0.
template <class Epilogue = NoEpilogue>
inline void small_gemm(int m, int n, int k, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t ldb,
                       float* c, int64_t ldc, bool accumulate, const Epilogue& epilogue = {}) {
  if (csa == 1) {
    small_gemm_with(m, n, k, a, RowMajorA{rsa}, b, ldb, c, ldc, accumulate, epilogue);
  } else if (rsa == 1) {
    small_gemm_with(m, n, k, a, ColumnMajorA{csa}, b, ldb, c, ldc, accumulate, epilogue);
  } else {
    small_gemm_with(m, n, k, a, StridedA{rsa, csa}, b, ldb, c, ldc, accumulate, epilogue);
  }
}

}  // namespace attn::kernels::cpu
