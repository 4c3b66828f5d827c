// Micro-benchmarks of the softmax family: GB/s over the bytes an op must move (softmax forward: 4 read + 4
// written per element), on memory-sized (16M elements) and cache-sized (1M) arrays, 1 and 2 threads. A plain
// parallel copy of the same size gives the machine's STREAM-copy ceiling to compare against.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include "attn/kernels/cross_entropy.h"
#include "attn/kernels/softmax.h"

namespace {

using namespace attn::kernels;

// 64-byte aligned, filled once outside the timed loop (which also faults the pages in).
struct Buffer {
  float* p;
  explicit Buffer(int64_t n, float lo = -4.0f, float hi = 4.0f)
      : p(static_cast<float*>(std::aligned_alloc(64, size_t((n * 4 + 63) / 64 * 64)))) {
    std::mt19937 g(7);
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < n; ++i) p[i] = d(g);
  }
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

// range(0): row length n, range(1): elements, range(2): threads.
void row_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "elems", "threads"});
  for (int64_t elems : {int64_t{1} << 24, int64_t{1} << 20}) {
    for (int64_t n : {128, 512, 2048, 8192}) {
      for (int64_t threads : {1, 2}) b->Args({n, elems, threads});
    }
  }
  b->UseRealTime();
}

template <void (*kForward)(const float*, float*, int64_t, int64_t, int64_t)>
void bm_forward(benchmark::State& st) {
  const int64_t n = st.range(0), elems = st.range(1);
  omp_set_num_threads(int(st.range(2)));
  Buffer x(elems), y(elems);
  for (auto _ : st) {
    kForward(x.p, y.p, elems / n, n, 1);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * elems * 8);
}

template <void (*kBackward)(const float*, const float*, float*, int64_t, int64_t, int64_t)>
void bm_backward(benchmark::State& st) {
  const int64_t n = st.range(0), elems = st.range(1);
  omp_set_num_threads(int(st.range(2)));
  Buffer y(elems, 0.0f, 0.01f), dy(elems), dx(elems);
  for (auto _ : st) {
    kBackward(y.p, dy.p, dx.p, elems / n, n, 1);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * elems * 12);
}

void BM_SoftmaxForward(benchmark::State& st) { bm_forward<softmax_forward>(st); }
void BM_LogSoftmaxForward(benchmark::State& st) { bm_forward<log_softmax_forward>(st); }
void BM_SoftmaxBackward(benchmark::State& st) { bm_backward<softmax_backward>(st); }
void BM_LogSoftmaxBackward(benchmark::State& st) { bm_backward<log_softmax_backward>(st); }
BENCHMARK(BM_SoftmaxForward)->Apply(row_args);
BENCHMARK(BM_LogSoftmaxForward)->Apply(row_args);
BENCHMARK(BM_SoftmaxBackward)->Apply(row_args);
BENCHMARK(BM_LogSoftmaxBackward)->Apply(row_args);

// Softmax over a middle axis: [outer, n, inner] = [elems / (n * inner), n, inner].
void BM_SoftmaxForwardInner(benchmark::State& st) {
  const int64_t n = st.range(0), inner = st.range(1), elems = int64_t{1} << 24;
  omp_set_num_threads(int(st.range(2)));
  Buffer x(elems), y(elems);
  for (auto _ : st) {
    softmax_forward(x.p, y.p, elems / (n * inner), n, inner);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * elems * 8);
}
BENCHMARK(BM_SoftmaxForwardInner)
    ->ArgNames({"n", "inner", "threads"})
    ->Args({512, 64, 1})
    ->Args({512, 64, 2})
    ->Args({64, 512, 2})
    ->UseRealTime();

// The ceiling: each thread copies its contiguous share (memcpy picks streaming stores for big blocks).
void BM_SoftmaxStreamCopy(benchmark::State& st) {
  const int64_t elems = st.range(0);
  const int threads = int(st.range(1));
  omp_set_num_threads(threads);
  Buffer x(elems), y(elems);
  for (auto _ : st) {
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t lo = elems * t / nt, hi = elems * (t + 1) / nt;
      std::memcpy(y.p + lo, x.p + lo, size_t(hi - lo) * sizeof(float));
    }
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * elems * 8);
}
BENCHMARK(BM_SoftmaxStreamCopy)
    ->ArgNames({"elems", "threads"})
    ->Args({1 << 24, 1})
    ->Args({1 << 24, 2})
    ->Args({1 << 20, 1})
    ->Args({1 << 20, 2})
    ->UseRealTime();

// Training-step cross-entropy on [4096, 8000] logits, forward + backward. Bytes: logits read twice, gradient
// written once (12 per element).
void BM_CrossEntropyForwardBackward(benchmark::State& st) {
  const int64_t rows = 4096, classes = 8000;
  omp_set_num_threads(int(st.range(0)));
  Buffer logits(rows * classes), lse(rows), d(rows * classes);
  int32_t* targets = static_cast<int32_t*>(std::aligned_alloc(64, rows * sizeof(int32_t)));
  for (int64_t r = 0; r < rows; ++r) targets[r] = r % 17 == 0 ? -100 : int32_t((r * 7919) % classes);
  CrossEntropyOptions opt;
  opt.label_smoothing = float(st.range(1)) / 10.0f;
  for (auto _ : st) {
    float loss = cross_entropy_forward(logits.p, targets, rows, classes, opt, lse.p);
    benchmark::DoNotOptimize(loss);
    cross_entropy_backward(logits.p, targets, lse.p, rows, classes, opt, 1.0f, d.p);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * rows * classes * 12);
  std::free(targets);
}
BENCHMARK(BM_CrossEntropyForwardBackward)
    ->ArgNames({"threads", "smooth_x10"})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({2, 1})
    ->UseRealTime();

}  // namespace
