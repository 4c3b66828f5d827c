// Micro-benchmark of attn::kernels::gemm (the BLAS attn links) on square products, 64..2048, at attn's
// thread count (OMP_NUM_THREADS). Reports FLOP/s (2*n^3 per product) beside the time.
#include <benchmark/benchmark.h>

#include <vector>

#include "attn/kernels/gemm.h"

namespace {

void BM_Gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
  for (auto _ : state) {
    attn::kernels::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * double(n) * double(n) * double(n), benchmark::Counter::kIsIterationInvariantRate);
}

// Which BLAS and kernels ran goes into the header of the report, not onto every row.
const bool kBlasContext = (benchmark::AddCustomContext("blas", attn::kernels::blas_description()), true);

// Real time: the BLAS runs on several threads, CPU time of the main thread alone would mislead.
BENCHMARK(BM_Gemm)->RangeMultiplier(2)->Range(64, 2048)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
