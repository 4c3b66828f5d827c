// Micro-benchmarks of the fused attention kernel, forward and forward+backward, on the shapes `bench/run kernels`
// compares with PyTorch: args are B, H, L, d, causal. FLOP/s counts 4*B*H*L^2*d forward and 12*B*H*L^2*d
// forward+backward (causal counted as the same dense work, as the PyTorch side does).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "attn/kernels/attention.h"

namespace {

namespace ak = attn::kernels;

struct Inputs {
  ak::AttentionShape shape;
  ak::AttentionMask mask;
  float scale;
  std::vector<float> q, k, v, out, lse, dout, dq, dk, dv;

  explicit Inputs(const benchmark::State& state)
      : shape{state.range(0), state.range(1), state.range(2), state.range(2), state.range(3)},
        scale(1.0f / std::sqrt(float(state.range(3)))) {
    mask.causal = state.range(4) != 0;
    const int64_t n = shape.batch * shape.heads * shape.len_q * shape.head_dim;
    std::mt19937 gen(1);
    std::normal_distribution<float> dist;
    for (auto* x : {&q, &k, &v, &dout}) {
      x->resize(n);
      for (float& e : *x) e = dist(gen);
    }
    for (auto* x : {&out, &dq, &dk, &dv}) x->assign(n, 0.0f);
    lse.assign(shape.batch * shape.heads * shape.len_q, 0.0f);
  }
  void forward() { ak::attention_forward(shape, q.data(), k.data(), v.data(), mask, scale, out.data(), lse.data()); }
  void backward() {
    ak::attention_backward(shape, q.data(), k.data(), v.data(), out.data(), dout.data(), lse.data(), mask, scale,
                           dq.data(), dk.data(), dv.data());
  }
  double dense_flops() const {
    return double(shape.batch * shape.heads) * double(shape.len_q) * double(shape.len_k) * double(shape.head_dim);
  }
};

void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_AttentionForward(benchmark::State& state) {
  Inputs in(state);
  for (auto _ : state) {
    in.forward();
    benchmark::ClobberMemory();
  }
  set_flops(state, 4.0 * in.dense_flops());
}

void BM_AttentionForwardBackward(benchmark::State& state) {
  Inputs in(state);
  for (auto _ : state) {
    in.forward();
    in.backward();
    benchmark::ClobberMemory();
  }
  set_flops(state, 12.0 * in.dense_flops());
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "H", "L", "d", "causal"});
  for (int causal : {0, 1}) {
    for (auto [batch, heads, len] : {std::tuple{32, 8, 128}, {8, 8, 512}, {1, 8, 2048}, {1, 12, 4096}}) {
      b->Args({batch, heads, len, 64, causal});
    }
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_AttentionForward)->Apply(shapes);
BENCHMARK(BM_AttentionForwardBackward)->Apply(shapes);

}  // namespace
