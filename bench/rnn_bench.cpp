// Micro-benchmarks of one bidirectional recurrent layer at the size the performance target names (batch 64, 64
// steps, input 128, hidden 128): forward alone (no graph recorded) and forward + backward through the autograd op,
// as a model runs it. Compare with PyTorch's nn.LSTM on the same shape and thread count. Real time: the GEMMs and
// the gate passes use all threads.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "attn/autograd/ops/rnn.h"
#include "attn/core/rng.h"

namespace {

using attn::Rng;
using attn::Shape;
using attn::Tensor;
using attn::autograd::Var;
using attn::kernels::RnnCell;

constexpr int64_t kBatch = 64, kTime = 64, kInput = 128, kHidden = 128;

Var random_var(Rng& rng, const Shape& shape, bool requires_grad) {
  Tensor t = Tensor::empty(shape);
  attn::fill_uniform(rng, t.data(), t.numel(), -0.1f, 0.1f);
  return Var(t, requires_grad);
}

struct Layer {
  Var x;
  std::vector<attn::autograd::RnnDirectionWeights> weights;
  Tensor grad_output;
};

Layer make_layer(RnnCell cell) {
  Rng rng(7);
  const int64_t gh = attn::kernels::rnn_gate_count(cell) * kHidden;
  Layer l;
  l.x = random_var(rng, {kBatch, kTime, kInput}, true);
  for (int d = 0; d < 2; ++d) {
    l.weights.push_back({random_var(rng, {gh, kInput}, true), random_var(rng, {gh, kHidden}, true),
                         random_var(rng, {gh}, true), random_var(rng, {gh}, true)});
  }
  l.grad_output = Tensor::full({kBatch, kTime, 2 * kHidden}, 1e-3f);
  return l;
}

void BM_RnnLayerForward(benchmark::State& state, RnnCell cell) {
  Layer l = make_layer(cell);
  for (auto _ : state) {
    attn::autograd::NoGradGuard no_grad;
    auto r = attn::autograd::rnn_layer(cell, l.x, {}, l.weights);
    benchmark::DoNotOptimize(r.output.value().data());
  }
}

void BM_RnnLayerForwardBackward(benchmark::State& state, RnnCell cell) {
  Layer l = make_layer(cell);
  for (auto _ : state) {
    auto r = attn::autograd::rnn_layer(cell, l.x, {}, l.weights);
    r.output.backward(l.grad_output);
    benchmark::DoNotOptimize(l.x.grad().data());
    l.x.zero_grad();
    for (auto& w : l.weights) {
      for (Var* p : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) p->zero_grad();
    }
  }
}

BENCHMARK_CAPTURE(BM_RnnLayerForward, lstm_bi_b64_t64_i128_h128, RnnCell::kLstm)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RnnLayerForwardBackward, lstm_bi_b64_t64_i128_h128, RnnCell::kLstm)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RnnLayerForward, gru_bi_b64_t64_i128_h128, RnnCell::kGru)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RnnLayerForwardBackward, gru_bi_b64_t64_i128_h128, RnnCell::kGru)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
