// attn's LSTM, GRU and RNN against PyTorch 1.13 on the same weights, inputs and lengths (PyTorch ran them through
// pack_padded_sequence with enforce_sorted=False; fixtures from tests/fixtures/tools/gen_rnn_fixtures.py): output,
// h_n, c_n, and the gradients of a weighted sum of them w.r.t. the input, the initial states and every parameter,
// within relative error 1e-4.
#include <gtest/gtest.h>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/core/error.h"  // before support/fixture.h, which uses shape_str without including it
#include "attn/nn/rnn.h"
#include "support/fixture.h"

namespace attn::nn {
namespace {

using testing::Fixture;

Var input(const Fixture& f, const std::string& name) {
  return f.has("input." + name) ? Var(f["input." + name].clone(), true) : Var();
}

// The module's sizes from the fixture's parameters (weight_hh_l0 is [gates*H, H]).
RnnOptions options_from(const Fixture& f, int64_t layers, bool bidirectional) {
  RnnOptions o;
  o.input_size = f["param.weight_ih_l0"].size(1);
  o.hidden_size = f["param.weight_hh_l0"].size(1);
  o.num_layers = layers;
  o.bidirectional = bidirectional;
  return o;
}

void check(const Fixture& f, RecurrentBase& m, const RnnOutput& r, const Var& x, const Var& h0, const Var& c0) {
  EXPECT_TRUE(Fixture::close(r.output.value(), f["output.output"])) << "output";
  EXPECT_TRUE(Fixture::close(r.h_n.value(), f["output.h_n"])) << "h_n";
  if (f.has("output.c_n")) {
    EXPECT_TRUE(Fixture::close(r.c_n.value(), f["output.c_n"])) << "c_n";
  }
  // loss = sum over outputs of sum(w * output), the one the generator differentiated.
  Var loss = autograd::sum(r.output * Var(f["out_weight.output"])) + autograd::sum(r.h_n * Var(f["out_weight.h_n"]));
  if (f.has("output.c_n")) loss = loss + autograd::sum(r.c_n * Var(f["out_weight.c_n"]));
  loss.backward();
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.x"])) << "grad x";
  if (h0.defined()) {
    EXPECT_TRUE(Fixture::close(h0.grad(), f["grad_input.h0"])) << "grad h0";
  }
  if (c0.defined()) {
    EXPECT_TRUE(Fixture::close(c0.grad(), f["grad_input.c0"])) << "grad c0";
  }
  f.expect_param_grads(m);
}

TEST(RnnParity, LstmBidirectionalTwoLayersPadded) {
  Fixture f("rnn/lstm_bi_2layer.safetensors");
  Rng rng(0);
  LSTM lstm(options_from(f, 2, true), rng);
  f.load_into(lstm);
  Var x = input(f, "x"), h0 = input(f, "h0"), c0 = input(f, "c0");
  std::vector<int32_t> lengths = f.ints("lengths.x");
  check(f, lstm, lstm.forward(x, lengths, h0, c0), x, h0, c0);
}

TEST(RnnParity, GruBidirectionalTwoLayersPadded) {
  Fixture f("rnn/gru_bi_2layer.safetensors");
  Rng rng(0);
  GRU gru(options_from(f, 2, true), rng);
  f.load_into(gru);
  Var x = input(f, "x"), h0 = input(f, "h0");
  std::vector<int32_t> lengths = f.ints("lengths.x");
  check(f, gru, gru.forward(x, lengths, h0), x, h0, {});
}

TEST(RnnParity, RnnTanhOneLayerPaddedZeroState) {
  Fixture f("rnn/rnn_tanh_1layer.safetensors");
  Rng rng(0);
  RNN rnn(options_from(f, 1, false), rng);
  f.load_into(rnn);
  Var x = input(f, "x");
  std::vector<int32_t> lengths = f.ints("lengths.x");
  check(f, rnn, rnn.forward(x, lengths), x, {}, {});
}

}  // namespace
}  // namespace attn::nn
