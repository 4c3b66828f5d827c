// Micro-benchmarks of attn::kernels::gemm on square products, 64..2048, at attn's thread count
// (OMP_NUM_THREADS), and of a linear layer's x W^T over few rows three ways: the BLAS, attn's packed-panel
// kernel packing W per call (what gemm picks up to 128 rows), and with W packed once (inference). Reports
// FLOP/s beside the time.
#include <benchmark/benchmark.h>

#include <vector>

#include "attn/kernels/gemm.h"
#include "kernels/cpu/blas.h"

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

// x [rows, 128] times W^T, W [384, 128]: a Transformer's q, k, v projection at d_model 128.
constexpr int64_t kIn = 128, kOut = 384;

enum class LinearPath { kBlas, kPackPerCall, kPackedOnce };

template <LinearPath path>
void BM_Linear(benchmark::State& state) {
  const int64_t rows = state.range(0);
  std::vector<float> x(rows * kIn, 0.5f), w(kOut * kIn, 0.25f), y(rows * kOut, 0.0f);
  const attn::kernels::PackedWeight packed = attn::kernels::pack_weight(kOut, kIn, w.data());
  for (auto _ : state) {
    if (path == LinearPath::kBlas) {
      attn::kernels::cpu::blas_sgemm(attn::kernels::cpu::Trans::kNo, attn::kernels::cpu::Trans::kYes, int(rows),
                                     int(kOut), int(kIn), 1.0f, x.data(), int(kIn), w.data(), int(kIn), 0.0f,
                                     y.data(), int(kOut));
    } else if (path == LinearPath::kPackPerCall) {
      attn::kernels::gemm(false, true, rows, kOut, kIn, 1.0f, x.data(), kIn, w.data(), kIn, 0.0f, y.data(), kOut);
    } else {
      attn::kernels::gemm_packed_weight(rows, x.data(), kIn, packed, 0.0f, y.data(), kOut);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * double(rows * kIn * kOut), benchmark::Counter::kIsIterationInvariantRate);
}

// Which BLAS and kernels ran goes into the header of the report, not onto every row.
const bool kBlasContext = (benchmark::AddCustomContext("blas", attn::kernels::blas_description()), true);

// Real time: the BLAS runs on several threads, CPU time of the main thread alone would mislead.
BENCHMARK(BM_Gemm)->RangeMultiplier(2)->Range(64, 2048)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Linear<LinearPath::kBlas>)->Arg(1)->Arg(6)->Arg(64)->Arg(128)->Arg(256)->UseRealTime();
BENCHMARK(BM_Linear<LinearPath::kPackPerCall>)->Arg(1)->Arg(6)->Arg(64)->Arg(128)->Arg(256)->UseRealTime();
BENCHMARK(BM_Linear<LinearPath::kPackedOnce>)->Arg(1)->Arg(6)->Arg(64)->Arg(128)->Arg(256)->UseRealTime();

}  // namespace
