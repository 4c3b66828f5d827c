// Recurrent modules RNN, LSTM and GRU with PyTorch's parameter names, shapes and initialisation, so a PyTorch
// state_dict maps onto them one to one. Multi-layer, uni- or bidirectional, over a padded batch given as
// per-example lengths (PyTorch's pack_padded_sequence semantics, without packing). Each layer is one autograd op.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "attn/autograd/ops/rnn.h"
#include "attn/core/rng.h"
#include "attn/nn/module.h"

namespace attn::nn {

struct RnnOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bidirectional = false;
  float dropout = 0.0f;  // on the outputs of every layer but the last, in training mode
  // Always batch_first: inputs and outputs are [batch, time, features]. Biases are always present.
};

struct RnnOutput {
  Var output;  // [B, T, dirs*H], the last layer's states; zero at t >= length
  Var h_n;     // [layers*dirs, B, H], index layer*dirs + direction: each sequence's state after its last step
  Var c_n;     // [layers*dirs, B, H], LSTM only
};

// Parameters per layer k and direction (suffix "_reverse" for the second), registered in PyTorch's order:
// weight_ih_l{k} [gates*H, in], weight_hh_l{k} [gates*H, H], bias_ih_l{k}, bias_hh_l{k} [gates*H]; in = input_size
// for layer 0 and dirs*H above. All uniform in +-1/sqrt(H).
class RecurrentBase : public Module {
 public:
  const RnnOptions& options() const { return options_; }
  kernels::RnnCell cell() const { return cell_; }
  int64_t num_directions() const { return options_.bidirectional ? 2 : 1; }
  // weights()[layer * dirs + direction]
  const std::vector<autograd::RnnDirectionWeights>& weights() const { return weights_; }

 protected:
  RecurrentBase(const char* name, kernels::RnnCell cell, const RnnOptions& options, Rng& rng);
  // x [B, T, input_size]; lengths [B] in [1, T] or empty (all T); h0, c0 [layers*dirs, B, H] or undefined (zeros).
  RnnOutput run(const Var& x, std::span<const int32_t> lengths, const Var& h0, const Var& c0);

 private:
  std::string describe() const;  // "LSTM(input 128, hidden 64)", for messages

  const char* name_;
  kernels::RnnCell cell_;
  RnnOptions options_;
  std::vector<autograd::RnnDirectionWeights> weights_;
  Rng dropout_rng_;
};

// Elman RNN: h' = tanh (or relu) (W_ih x + b_ih + W_hh h + b_hh).
class RNN : public RecurrentBase {
 public:
  enum class Nonlinearity { kTanh, kRelu };
  RNN(const RnnOptions& options, Rng& rng, Nonlinearity nonlinearity = Nonlinearity::kTanh);
  RnnOutput forward(const Var& x, std::span<const int32_t> lengths = {}, const Var& h0 = {});
};

class LSTM : public RecurrentBase {
 public:
  LSTM(const RnnOptions& options, Rng& rng);
  RnnOutput forward(const Var& x, std::span<const int32_t> lengths = {}, const Var& h0 = {}, const Var& c0 = {});
};

class GRU : public RecurrentBase {
 public:
  GRU(const RnnOptions& options, Rng& rng);
  RnnOutput forward(const Var& x, std::span<const int32_t> lengths = {}, const Var& h0 = {});
};

}  // namespace attn::nn
