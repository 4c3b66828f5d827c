#include "attn/nn/rnn.h"

#include <cmath>

#include "attn/autograd/ops/dropout.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"

namespace attn::nn {

RecurrentBase::RecurrentBase(const char* name, kernels::RnnCell cell, const RnnOptions& options, Rng& rng)
    : name_(name), cell_(cell), options_(options), dropout_rng_(rng.fork(rng.next_u64())) {
  ATTN_CHECK(options.input_size > 0 && options.hidden_size > 0 && options.num_layers > 0,
             "{}: input_size, hidden_size and num_layers must be positive, got {}, {}, {}", name,
             options.input_size, options.hidden_size, options.num_layers);
  ATTN_CHECK(options.dropout >= 0.0f && options.dropout < 1.0f, "{}: dropout must be in [0, 1), got {}", name,
             options.dropout);
  register_rng("dropout_rng", dropout_rng_);
  const int64_t H = options.hidden_size, GH = kernels::rnn_gate_count(cell) * H, dirs = num_directions();
  const float bound = 1.0f / std::sqrt(float(H));
  auto param = [&](const std::string& pname, Shape shape) {
    Tensor t = Tensor::empty(shape);
    fill_uniform(rng, t.data(), t.numel(), -bound, bound);
    return register_parameter(pname, t);
  };
  for (int64_t k = 0; k < options.num_layers; ++k) {
    const int64_t in = k == 0 ? options.input_size : dirs * H;
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string suffix = "_l" + std::to_string(k) + (d == 1 ? "_reverse" : "");
      autograd::RnnDirectionWeights w;
      w.w_ih = param("weight_ih" + suffix, {GH, in});
      w.w_hh = param("weight_hh" + suffix, {GH, H});
      w.b_ih = param("bias_ih" + suffix, {GH});
      w.b_hh = param("bias_hh" + suffix, {GH});
      weights_.push_back(w);
    }
  }
}

std::string RecurrentBase::describe() const {
  return fmt::format("{}(input {}, hidden {})", name_, options_.input_size, options_.hidden_size);
}

RnnOutput RecurrentBase::run(const Var& x, std::span<const int32_t> lengths, const Var& h0, const Var& c0) {
  const int64_t L = options_.num_layers, dirs = num_directions(), H = options_.hidden_size;
  ATTN_CHECK(x.defined() && x.value().dim() == 3 && x.size(2) == options_.input_size,
             "{}: input of shape {} (need [batch, time, {}])", describe(), x.defined() ? shape_str(x.shape()) : "none",
             options_.input_size);
  const int64_t B = x.size(0), T = x.size(1);
  ATTN_CHECK(B > 0 && T > 0, "{}: input of shape {} is empty", describe(), shape_str(x.shape()));
  ATTN_CHECK(lengths.empty() || int64_t(lengths.size()) == B, "{}: {} lengths for input of shape {}", describe(),
             lengths.size(), shape_str(x.shape()));
  for (size_t i = 0; i < lengths.size(); ++i) {
    ATTN_CHECK(lengths[i] >= 1 && lengths[i] <= T, "{}: length {} of example {} is outside [1, {}] (input of shape {})",
               describe(), lengths[i], i, T, shape_str(x.shape()));
  }
  for (auto [state, what] : {std::pair{&h0, "h0"}, {&c0, "c0"}}) {
    ATTN_CHECK(!state->defined() || state->shape() == Shape({L * dirs, B, H}),
               "{}: initial state {} of shape {} (need [{}, {}, {}] for input of shape {})", describe(), what,
               shape_str(state->shape()), L * dirs, B, H, shape_str(x.shape()));
  }

  RnnOutput out;
  std::vector<Var> h_n, c_n;
  Var layer_in = x;
  for (int64_t k = 0; k < L; ++k) {
    std::vector<autograd::RnnDirectionWeights> w(weights_.begin() + k * dirs, weights_.begin() + (k + 1) * dirs);
    auto layer_state = [&](const Var& s) { return s.defined() && L > 1 ? autograd::slice(s, 0, k * dirs, (k + 1) * dirs) : s; };
    autograd::RnnLayerResult r = autograd::rnn_layer(cell_, layer_in, lengths, w, layer_state(h0), layer_state(c0));
    h_n.push_back(r.h_n);
    if (r.c_n.defined()) c_n.push_back(r.c_n);
    layer_in = r.output;
    if (k + 1 < L && options_.dropout > 0.0f && training()) {
      layer_in = autograd::dropout(layer_in, options_.dropout, dropout_rng_, true);
    }
  }
  out.output = layer_in;
  out.h_n = L == 1 ? h_n[0] : autograd::concat(h_n, 0);
  if (!c_n.empty()) out.c_n = L == 1 ? c_n[0] : autograd::concat(c_n, 0);
  return out;
}

RNN::RNN(const RnnOptions& options, Rng& rng, Nonlinearity nonlinearity)
    : RecurrentBase("RNN", nonlinearity == Nonlinearity::kRelu ? kernels::RnnCell::kRelu : kernels::RnnCell::kTanh,
                    options, rng) {}

RnnOutput RNN::forward(const Var& x, std::span<const int32_t> lengths, const Var& h0) {
  return run(x, lengths, h0, {});
}

LSTM::LSTM(const RnnOptions& options, Rng& rng) : RecurrentBase("LSTM", kernels::RnnCell::kLstm, options, rng) {}

RnnOutput LSTM::forward(const Var& x, std::span<const int32_t> lengths, const Var& h0, const Var& c0) {
  return run(x, lengths, h0, c0);
}

GRU::GRU(const RnnOptions& options, Rng& rng) : RecurrentBase("GRU", kernels::RnnCell::kGru, options, rng) {}

RnnOutput GRU::forward(const Var& x, std::span<const int32_t> lengths, const Var& h0) {
  return run(x, lengths, h0, {});
}

}  // namespace attn::nn
