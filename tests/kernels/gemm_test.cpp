#include "attn/kernels/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include <omp.h>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;

// C = alpha op(A) op(B) + beta C in double, A and B row-major as gemm() reads them.
std::vector<double> reference(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                              int64_t lda, const float* b, int64_t ldb, float beta, const float* c, int64_t ldc) {
  std::vector<double> out(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += double(ta ? a[p * lda + i] : a[i * lda + p]) * double(tb ? b[j * ldb + p] : b[p * ldb + j]);
      out[size_t(i * n + j)] = alpha * acc + beta * double(c[i * ldc + j]);
    }
  return out;
}

TEST(Gemm, MatchesDoubleReferenceForAllTransposesAndOddSizes) {
  for (int64_t m : {1, 3, 17, 64})
    for (int64_t n : {1, 5, 33})
      for (int64_t k : {1, 7, 100})
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            const int64_t lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;  // padded rows
            auto a = random_floats((ta ? k : m) * lda), b = random_floats((tb ? n : k) * ldb);
            auto c = random_floats(m * ldc);
            auto want = reference(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, -1.5f, c.data(), ldc);
            gemm(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, -1.5f, c.data(), ldc);
            std::vector<float> got;
            for (int64_t i = 0; i < m; ++i) got.insert(got.end(), c.begin() + i * ldc, c.begin() + i * ldc + n);
            EXPECT_TRUE(all_close(got, want, 1e-5, 1e-5)) << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb;
          }
}

// alpha 1 and beta 0 or 1 with at most 128 rows, or more rows and a column panel per thread: attn's packed-panel
// kernel, whose tiles, tail rows, partial last panel and passes over groups of panels all need covering, on one
// thread and split over two (tall products with a single panel go to the BLAS there).
TEST(Gemm, PackedPanelPathMatchesDoubleReference) {
  const int keep = num_threads();
  for (int threads : {1, 2})
    for (int64_t m : {1, 2, 3, 4, 5, 6, 7, 10, 13, 64, 128, 129, 517})
      for (int64_t n : {1, 5, 16, 33, 100, 384, 1100})
        for (int64_t k : {1, 7, 130})
          for (bool ta : {false, true})
            for (bool tb : {false, true})
              for (float beta : {0.0f, 1.0f}) {
                if (m * n * k > 2'000'000 && (ta || !tb)) continue;  // the big shapes once, in the linear layout
                const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
                auto a = random_floats((ta ? k : m) * lda), b = random_floats((tb ? n : k) * ldb);
                auto c = random_floats(m * ldc);
                auto want = reference(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
                if (beta == 0.0f) std::fill(c.begin(), c.end(), std::nanf(""));  // beta 0: C is never read
                set_num_threads(threads);
                gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
                std::vector<float> got;
                for (int64_t i = 0; i < m; ++i) got.insert(got.end(), c.begin() + i * ldc, c.begin() + i * ldc + n);
                ASSERT_TRUE(all_close(got, want, 1e-5, 1e-5))
                    << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb << " beta=" << beta << " threads="
                    << threads;
                for (int64_t i = 0; i < m; ++i)  // the padding between rows of C is left alone
                  for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(std::isnan(c[i * ldc + j]), beta == 0.0f);
              }
  set_num_threads(keep);
}

TEST(Gemm, PackedWeightMatchesDoubleReference) {
  const int keep = num_threads();
  for (int threads : {1, 2})
    for (int64_t m : {1, 2, 3, 4, 5, 7, 10, 13, 64, 128, 301})
      for (int64_t n : {1, 5, 33, 100, 384})
        for (int64_t k : {1, 7, 130})
          for (float beta : {0.0f, 1.0f}) {
            const int64_t lda = k + 1, ldc = n + 2;
            auto a = random_floats(m * lda), w = random_floats(n * k), c = random_floats(m * ldc);
            auto want = reference(false, true, m, n, k, 1.0f, a.data(), lda, w.data(), k, beta, c.data(), ldc);
            const PackedWeight packed = pack_weight(n, k, w.data());
            set_num_threads(threads);
            gemm_packed_weight(m, a.data(), lda, packed, beta, c.data(), ldc);
            std::vector<float> got;
            for (int64_t i = 0; i < m; ++i) got.insert(got.end(), c.begin() + i * ldc, c.begin() + i * ldc + n);
            ASSERT_TRUE(all_close(got, want, 1e-5, 1e-5))
                << m << "x" << n << "x" << k << " beta=" << beta << " threads=" << threads;
          }
  set_num_threads(keep);
}

// C = relu?(A W^T + beta C + bias) + residual, in double, against the packed weight's fused epilogue. n up to 100
// leaves a partial last panel (the buffered path), m the tail-row tiles; the padding of C's rows stays untouched.
TEST(Gemm, PackedWeightEpilogueMatchesDoubleReference) {
  const int keep = num_threads();
  for (int threads : {1, 2})
    for (int64_t m : {1, 4, 5, 13, 64, 301})
      for (int64_t n : {3, 33, 100, 384})
        for (int parts = 1; parts < 8; ++parts) {  // bit 0 bias, bit 1 relu, bit 2 residual
          const bool with_bias = parts & 1, relu = parts & 2, with_residual = parts & 4;
          const int64_t k = 37, lda = k + 1, ldc = n + 2, ldr = n + 3;
          const float beta = m % 2 ? 1.0f : 0.0f;
          auto a = random_floats(m * lda), w = random_floats(n * k), c = random_floats(m * ldc);
          auto bias = random_floats(n), residual = random_floats(m * ldr);
          auto want = reference(false, true, m, n, k, 1.0f, a.data(), lda, w.data(), k, beta, c.data(), ldc);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double v = want[size_t(i * n + j)] + (with_bias ? bias[size_t(j)] : 0.0);
              if (relu) v = std::max(v, 0.0);
              want[size_t(i * n + j)] = v + (with_residual ? residual[size_t(i * ldr + j)] : 0.0);
            }
          const std::vector<float> before = c;
          set_num_threads(threads);
          gemm_packed_weight(m, a.data(), lda, pack_weight(n, k, w.data()), beta, c.data(), ldc,
                             {with_bias ? bias.data() : nullptr, relu, with_residual ? residual.data() : nullptr, ldr});
          std::vector<float> got;
          for (int64_t i = 0; i < m; ++i) {
            got.insert(got.end(), c.begin() + i * ldc, c.begin() + i * ldc + n);
            for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[size_t(i * ldc + j)], before[size_t(i * ldc + j)]);
          }
          ASSERT_TRUE(all_close(got, want, 1e-5, 1e-5))
              << m << "x" << n << " bias=" << with_bias << " relu=" << relu << " residual=" << with_residual
              << " threads=" << threads;
        }
  set_num_threads(keep);
}

// Past the packed kernel's one-call depth of 1024: tall products run in slices of k, C accumulating; deep ones
// with few rows, and tall ones with fewer column panels than threads, on the BLAS.
TEST(Gemm, DeepAndTallProductsMatchDoubleReference) {
  const int keep = num_threads();
  set_num_threads(2);
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{300, 257, 1100}, {301, 130, 1600}, {100, 70, 1500},
                         {300, 5, 40}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f}) {
          const int64_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 1;
          auto a = random_floats((ta ? k : m) * lda), b = random_floats((tb ? n : k) * ldb);
          auto c = random_floats(m * ldc);
          auto want = reference(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          std::vector<float> got;
          for (int64_t i = 0; i < m; ++i) got.insert(got.end(), c.begin() + i * ldc, c.begin() + i * ldc + n);
          EXPECT_TRUE(all_close(got, want, 1e-4, 1e-4))
              << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb << " beta=" << beta;
        }
  set_num_threads(keep);
}

TEST(Gemm, BatchedSmallAndLargeProducts) {
  for (auto [batch, m, n, k] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{7, 3, 5, 4}, {3, 130, 70, 200}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        auto a = random_floats(batch * m * k), b = random_floats(batch * k * n);
        std::vector<float> c(size_t(batch * m * n), 0.0f);
        gemm_batched(batch, ta, tb, m, n, k, 1.0f, a.data(), m * k, b.data(), k * n, 0.0f, c.data(), m * n);
        for (int64_t i = 0; i < batch; ++i) {
          std::vector<float> zero(size_t(m * n), 0.0f);
          auto want = reference(ta, tb, m, n, k, 1.0f, a.data() + i * m * k, ta ? m : k, b.data() + i * k * n,
                                tb ? k : n, 0.0f, zero.data(), n);
          EXPECT_TRUE(all_close(c.data() + i * m * n, want.data(), m * n, 1e-4, 1e-5)) << "batch " << i;
        }
      }
}

TEST(Gemm, EmptyProductsAndBadLeadingDimensions) {
  std::vector<float> a(4, 1.0f), c(4, 3.0f);
  gemm(false, false, 2, 2, 0, 1.0f, a.data(), 0, a.data(), 2, 0.0f, c.data(), 2);  // k = 0: C = beta C
  EXPECT_EQ(c, std::vector<float>(4, 0.0f));
  try {
    gemm(false, false, 2, 2, 2, 1.0f, a.data(), 1, a.data(), 2, 0.0f, c.data(), 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lda=1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gemm(false, false, -1, 2, 2, 1.0f, a.data(), 2, a.data(), 2, 0.0f, c.data(), 2), Error);
}

}  // namespace
}  // namespace attn::kernels
