// attn's own matrix product for products with few rows (batch-1 inference, decoding steps): op(B) is packed into
// column panels and multiplied on small_gemm's register tile. A BLAS spends a large share of such a call packing
// the operands into its blocked layouts (OpenBLAS: ~20% at 64 rows); here only op(B) is packed, with 8 x 8
// register transposes, and A is read in place.
#pragma once
#include <cstdint>

namespace attn::kernels::cpu {

// Whether packed_gemm takes C = alpha op(A) op(B) + beta C instead of the BLAS: alpha 1, beta 0 or 1, and at most
// 128 rows with a shared dimension k of at most 1024, or more rows and a column panel for each thread.
bool packed_gemm_suits(int64_t m, int64_t n, int64_t k, float alpha, float beta);

// C[m,n] = op(A) op(B) + beta C with beta 0 or 1; layouts as in kernels::gemm (row-major, A [m,k] or [k,m] when
// trans_a, B [k,n] or [n,k] when trans_b). Threads over column panels unless called inside a parallel region.
void packed_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace attn::kernels::cpu
