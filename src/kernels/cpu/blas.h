// The BLAS behind attn's GEMMs: OpenBLAS's OpenMP build, loaded at first use. Loading it ourselves lets attn
// pick the kernels the CPU really has: an inherited OPENBLAS_CORETYPE=Haswell would hold OpenBLAS to AVX2 on
// an AVX-512 machine and halve its sgemm. ATTN_BLAS_CORETYPE forces a core type; ATTN_BLAS_LIB another library.
#pragma once
#include <string>

namespace attn::kernels::cpu {

enum class Trans { kNo, kYes };

// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
void blas_sgemm(Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                int ldb, float beta, float* c, int ldc);
void blas_set_num_threads(int n);
// "OpenBLAS 0.3.21 ... (core: SkylakeX)" — printed by benchmarks beside their figures.
std::string blas_description();

}  // namespace attn::kernels::cpu
