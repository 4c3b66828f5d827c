#include "attn/kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <climits>

#include "attn/core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/packed_gemm.h"

namespace attn::kernels {
namespace {

using cpu::Trans;

void validate(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
  for (auto [v, name] : {std::pair{m, "m"}, {n, "n"}, {k, "k"}, {lda, "lda"}, {ldb, "ldb"}, {ldc, "ldc"}}) {
    ATTN_CHECK(v >= 0 && v <= INT_MAX, "gemm: {} = {} is outside the BLAS's int range", name, v);
  }
  ATTN_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n) && ldc >= n,
             "gemm: leading dimensions lda={} ldb={} ldc={} too small for m={} n={} k={}", lda, ldb, ldc, m, n, k);
}

// No checks: callers validated. Products with few rows run on attn's packed_gemm, the rest on the BLAS,
// which wants leading dimensions >= 1 even for empty operands.
void gemm_unchecked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (cpu::packed_gemm_suits(m, n, k, alpha, beta)) {
    cpu::packed_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cpu::blas_sgemm(trans_a ? Trans::kYes : Trans::kNo, trans_b ? Trans::kYes : Trans::kNo, int(m), int(n), int(k),
                  alpha, a, int(std::max<int64_t>(lda, 1)), b, int(std::max<int64_t>(ldb, 1)), beta, c,
                  int(std::max<int64_t>(ldc, 1)));
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  validate(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  gemm_unchecked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t stride_a, const float* b, int64_t stride_b, float beta, float* c,
                  int64_t stride_c) {
  ATTN_CHECK(batch >= 0, "gemm_batched: negative batch {}", batch);
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n, ldc = n;
  validate(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  // Below ~2 MFLOP a BLAS call cannot use two cores well; one product per thread scales instead.
  const bool small = 2.0 * double(m) * double(n) * double(k) < 2e6;
  if (small && batch > 1 && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < batch; ++i) {
      gemm_unchecked(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                     c + i * stride_c, ldc);
    }
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    gemm_unchecked(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                   c + i * stride_c, ldc);
  }
}

std::string blas_description() { return cpu::blas_description(); }

}  // namespace attn::kernels
