// One recurrent layer (Elman RNN, LSTM or GRU; one direction or both) over a padded batch as ONE autograd op:
// the backward runs backpropagation through time inside the op (kernels/rnn.h), so a layer is one graph node
// whatever the sequence length. nn/rnn.h stacks these into PyTorch-style multi-layer modules.
#pragma once
#include <span>
#include <vector>

#include "attn/autograd/var.h"
#include "attn/kernels/rnn.h"

namespace attn::autograd {

// One direction's parameters, PyTorch's layout: w_ih [gates*H, I], w_hh [gates*H, H], b_ih and b_hh [gates*H].
struct RnnDirectionWeights {
  Var w_ih, w_hh, b_ih, b_hh;
};

struct RnnLayerResult {
  Var output;  // [B, T, dirs*H]: forward direction in columns [0, H), reverse in [H, 2H); zero at t >= length
  Var h_n;     // [dirs, B, H]: each sequence's state after its last step (reverse: after t = 0)
  Var c_n;     // [dirs, B, H], LSTM only (undefined otherwise)
};

// x [B, T, I]; lengths [B] in [1, T] (empty: all T); directions: 1 or 2 (the second runs backwards in time);
// h0, c0 [dirs, B, H] or undefined (zeros), c0 for the LSTM only. Gradients reach x, the weights, h0 and c0;
// none reaches x at padded steps.
RnnLayerResult rnn_layer(kernels::RnnCell cell, const Var& x, std::span<const int32_t> lengths,
                         const std::vector<RnnDirectionWeights>& directions, const Var& h0 = {}, const Var& c0 = {});

}  // namespace attn::autograd
