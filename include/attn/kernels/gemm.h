// Matrix products through the BLAS (see src/kernels/cpu/blas.h for which one and why). Row-major throughout.
#pragma once
#include <cstdint>
#include <string>

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

std::string blas_description();

}  // namespace attn::kernels
