// Micro-benchmarks of the general CPU kernels at transformer-like sizes: layer norm [8192, 512], gelu on 16M
// floats, embedding gather/scatter (4096 ids into a 30000 x 128 table), broadcast add [8192, 512] + [512], and
// dropout. bytes_per_second counts each array read or written once (the memory traffic a kernel cannot avoid).
// Buffers are allocated once per case and reused across iterations; real time, as the kernels use all threads.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "attn/kernels/activation.h"
#include "attn/kernels/dropout.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/embedding.h"
#include "attn/kernels/layer_norm.h"

namespace {

using namespace attn::kernels;

std::vector<float> data(int64_t n, float scale = 1.0f) {
  std::vector<float> v(n);
  uint32_t s = 12345;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(s >> 8) * 0x1.0p-24f * 2.0f - 1.0f);
  }
  return v;
}

void finish(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration * static_cast<double>(state.iterations())));
}

constexpr int64_t kRows = 8192, kDim = 512;

void BM_LayerNormForward(benchmark::State& state) {
  std::vector<float> x = data(kRows * kDim), g = data(kDim), b = data(kDim), y(kRows * kDim), mean(kRows), rstd(kRows);
  for (auto _ : state) {
    layer_norm_forward(kRows, kDim, x.data(), g.data(), b.data(), 1e-5f, y.data(), mean.data(), rstd.data());
    benchmark::ClobberMemory();
  }
  finish(state, 2.0 * kRows * kDim * 4);
}
BENCHMARK(BM_LayerNormForward)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_LayerNormBackward(benchmark::State& state) {
  std::vector<float> x = data(kRows * kDim), g = data(kDim), b = data(kDim), y(kRows * kDim), mean(kRows), rstd(kRows);
  std::vector<float> dy = data(kRows * kDim), dx(kRows * kDim), dg(kDim), db(kDim);
  layer_norm_forward(kRows, kDim, x.data(), g.data(), b.data(), 1e-5f, y.data(), mean.data(), rstd.data());
  for (auto _ : state) {
    layer_norm_backward(kRows, kDim, x.data(), g.data(), mean.data(), rstd.data(), dy.data(), dx.data(), dg.data(),
                        db.data());
    benchmark::ClobberMemory();
  }
  finish(state, 3.0 * kRows * kDim * 4);
}
BENCHMARK(BM_LayerNormBackward)->UseRealTime()->Unit(benchmark::kMicrosecond);

constexpr int64_t kGelu = int64_t{1} << 24;

void BM_GeluForward(benchmark::State& state) {
  const GeluApprox approx = state.range(0) ? GeluApprox::kTanh : GeluApprox::kErf;
  std::vector<float> x = data(kGelu, 4.0f), y(kGelu);
  for (auto _ : state) {
    gelu_forward(kGelu, x.data(), y.data(), approx);
    benchmark::ClobberMemory();
  }
  state.SetLabel(state.range(0) ? "tanh" : "erf");
  finish(state, 2.0 * kGelu * 4);
}
BENCHMARK(BM_GeluForward)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_GeluBackward(benchmark::State& state) {
  std::vector<float> x = data(kGelu, 4.0f), dy = data(kGelu), dx(kGelu);
  for (auto _ : state) {
    gelu_backward(kGelu, x.data(), dy.data(), dx.data());
    benchmark::ClobberMemory();
  }
  finish(state, 3.0 * kGelu * 4);
}
BENCHMARK(BM_GeluBackward)->UseRealTime()->Unit(benchmark::kMillisecond);

constexpr int64_t kIds = 4096, kVocab = 30000, kEmbed = 128;

std::vector<int32_t> ids() {
  std::vector<int32_t> v(kIds);
  uint32_t s = 7;
  for (auto& id : v) {
    s = s * 1664525u + 1013904223u;
    id = static_cast<int32_t>((s >> 8) % kVocab);
  }
  return v;
}

void BM_EmbeddingForward(benchmark::State& state) {
  std::vector<int32_t> id = ids();
  std::vector<float> table = data(kVocab * kEmbed), out(kIds * kEmbed);
  for (auto _ : state) {
    embedding_forward(kIds, id.data(), kVocab, kEmbed, table.data(), out.data());
    benchmark::ClobberMemory();
  }
  finish(state, 2.0 * kIds * kEmbed * 4);
}
BENCHMARK(BM_EmbeddingForward)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_EmbeddingBackward(benchmark::State& state) {
  std::vector<int32_t> id = ids();
  std::vector<float> dout = data(kIds * kEmbed), dtable(kVocab * kEmbed);
  for (auto _ : state) {
    embedding_backward(kIds, id.data(), kVocab, kEmbed, dout.data(), 0, dtable.data());
    benchmark::ClobberMemory();
  }
  finish(state, 3.0 * kIds * kEmbed * 4);  // dout read, table rows read and written
}
BENCHMARK(BM_EmbeddingBackward)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_BroadcastAdd(benchmark::State& state) {
  std::vector<float> a = data(kRows * kDim), b = data(kDim), out(kRows * kDim);
  for (auto _ : state) {
    binary(BinaryOp::kAdd, a.data(), {kRows, kDim}, b.data(), {kDim}, out.data());
    benchmark::ClobberMemory();
  }
  finish(state, 2.0 * kRows * kDim * 4);
}
BENCHMARK(BM_BroadcastAdd)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_BiasGradient(benchmark::State& state) {  // reduce_to_shape [8192, 512] -> [512]
  std::vector<float> g = data(kRows * kDim), out(kDim);
  for (auto _ : state) {
    reduce_to_shape(g.data(), {kRows, kDim}, out.data(), {kDim});
    benchmark::ClobberMemory();
  }
  finish(state, 1.0 * kRows * kDim * 4);
}
BENCHMARK(BM_BiasGradient)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_Dropout(benchmark::State& state) {
  std::vector<float> x = data(kGelu), y(kGelu);
  std::vector<uint8_t> mask(kGelu);
  uint64_t offset = 0;
  for (auto _ : state) {
    dropout_forward(kGelu, x.data(), 0.1f, 1, offset, y.data(), mask.data());
    offset += kGelu;
    benchmark::ClobberMemory();
  }
  finish(state, 2.25 * kGelu * 4);
}
BENCHMARK(BM_Dropout)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
