// Output projection + cross-entropy, forward and backward through autograd, as a seq2seq decoder's training step
// has it: 64 sentences x 20 target tokens = 1280 rows, hidden 256, vocabulary 8000. fused:1 is
// linear_cross_entropy (logits a chunk at a time), fused:0 is cross_entropy(linear(...)) with its [1280, 8000]
// logits and their gradient. FLOP/s counts the three products (6 * rows * hidden * vocab).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "attn/autograd/ops/linear_cross_entropy.h"
#include "attn/autograd/ops/loss.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/core/threads.h"

namespace {

using attn::Tensor;
using attn::autograd::Var;

constexpr int64_t kRows = 64 * 20, kDim = 256, kVocab = 8000;

Var random_param(const attn::Shape& shape, float scale) {
  std::mt19937 gen(3);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(size_t(attn::shape_numel(shape)));
  for (float& x : v) x = dist(gen);
  return Var(Tensor::from_vector(shape, v), true);
}

void BM_LinearCrossEntropyStep(benchmark::State& state) {
  const bool fused = state.range(0) != 0;
  const int keep = attn::num_threads();
  attn::set_num_threads(int(state.range(1)));
  Var h = random_param({kRows, kDim}, 1.0f), w = random_param({kVocab, kDim}, 0.05f), b = random_param({kVocab}, 0.1f);
  std::vector<int32_t> targets(kRows);
  for (int64_t r = 0; r < kRows; ++r) targets[size_t(r)] = int32_t((r * 7919) % kVocab);
  for (auto _ : state) {
    Var loss = fused ? attn::autograd::linear_cross_entropy(h, w, b, targets)
                     : attn::autograd::cross_entropy(attn::autograd::linear(h, w, b), targets);
    loss.backward();
    benchmark::DoNotOptimize(w.grad().data());
    h.zero_grad(), w.zero_grad(), b.zero_grad();
  }
  state.counters["FLOPS"] =
      benchmark::Counter(6.0 * kRows * kDim * kVocab, benchmark::Counter::kIsIterationInvariantRate);
  attn::set_num_threads(keep);
}
BENCHMARK(BM_LinearCrossEntropyStep)
    ->ArgNames({"fused", "threads"})
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
