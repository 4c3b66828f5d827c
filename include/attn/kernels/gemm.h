// Matrix products through the BLAS (see src/kernels/cpu/blas.h for which one and why). Row-major throughout.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn::kernels {

// C[m,n] = alpha * op(A) * op(B) + beta * C. op(A) is [m,k]: A is stored [m,k] (lda >= k), or [k,m] when
// trans_a (lda >= m). Likewise B: [k,n] or, when trans_b, [n,k].
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// `batch` independent products of densely packed matrices: matrix i starts at a + i*stride_a, etc.
// Small products run one per thread; large ones use the BLAS's own threads.
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t stride_a, const float* b, int64_t stride_b, float beta, float* c,
                  int64_t stride_c);

// A weight W [n, k] packed once for products C = A W^T with few rows (batch-1 inference, decoding steps), so
// that repeated calls skip packing it; autograd::linear keeps one per weight in inference mode.
struct PackedWeight {
  int64_t n = 0, k = 0;
  std::vector<float> panels;
};
PackedWeight pack_weight(int64_t n, int64_t k, const float* w);  // w contiguous
// Whether gemm_packed_weight is the faster way to multiply m rows of length k by a weight of n rows (otherwise
// gemm with the BLAS).
bool packed_weight_suits(int64_t m, int64_t n, int64_t k);
// What a product's tiles apply to C before storing it, saving a pass over C each: C = act(A W^T + bias) +
// residual, with act relu or the identity. bias [n] and residual [m, n] (leading dimension ld_residual) may be
// null; residual may not overlap C.
struct GemmEpilogue {
  const float* bias = nullptr;
  bool relu = false;
  const float* residual = nullptr;
  int64_t ld_residual = 0;
};
// C[m, n] = A[m, k] W^T + beta C with beta 0 or 1, then the epilogue; A row-major with leading dimension lda.
void gemm_packed_weight(int64_t m, const float* a, int64_t lda, const PackedWeight& w, float beta, float* c,
                        int64_t ldc, const GemmEpilogue& epilogue = {});

std::string blas_description();

}  // namespace attn::kernels
