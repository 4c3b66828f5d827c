// Recurrent layers (Elman RNN, LSTM, GRU; PyTorch's gate order and formulas) over a padded batch: the forward and
// backward (backpropagation through time) of one direction of one layer, as a few big GEMMs plus, per time step,
// one GEMM with the recurrent weights and one fused, vectorised gate pass.
#pragma once
#include <cstdint>
#include <vector>

namespace attn::kernels {

// Cell formulas (PyTorch's; x the input, h the previous state, W_* rows of weight_ih / weight_hh per gate):
//   kTanh / kRelu: h' = act(W_i x + b_i + W_h h + b_h)
//   kLstm (gates i, f, g, o): c' = f*c + i*g, h' = o*tanh(c')  (i, f, o sigmoid, g tanh)
//   kGru (gates r, z, n): n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h  (r, z sigmoid)
enum class RnnCell { kTanh, kRelu, kLstm, kGru };

// Rows of weight_ih / weight_hh per hidden unit: 1, 1, 4 or 3.
int64_t rnn_gate_count(RnnCell cell);
const char* rnn_cell_name(RnnCell cell);  // "RNN_TANH", "RNN_RELU", "LSTM", "GRU"

// A padded batch in the order the kernels work in: examples sorted by length, longest first, so that at every
// time step the examples still running are a prefix [0, active[t]) and each step's GEMM covers only those.
// A sequence of length L is updated only at t < L (forward) or starts at t = L-1 (reverse).
struct RnnBatch {
  int64_t batch = 0, time = 0;
  std::vector<int32_t> order;   // order[i]: the example at sorted position i
  std::vector<int32_t> length;  // length[i]: its length, in [1, time]
  std::vector<int64_t> active;  // active[t]: examples with length > t (non-increasing in t)
  bool full() const { return active.empty() || active.back() == batch; }  // no padding at all
};

// lengths [batch] in [1, time] (null: all equal to time). Throws attn::Error naming `op` on a bad length.
RnnBatch rnn_batch(const char* op, int64_t batch, int64_t time, const int32_t* lengths);

// Sizes of one layer direction. Input and output are batch-major: x [batch, time, input], y [batch, time, *].
struct RnnDims {
  RnnCell cell = RnnCell::kLstm;
  int64_t input = 0, hidden = 0;
  bool reverse = false;  // runs t = L-1 .. 0 for each sequence
};

// Floats per (time, example) in the saved-gates workspace: 4H (LSTM: i f g o; GRU: r z n and W_hn h + b_hn), H for
// the Elman cells (their pre-activations; the backward only needs the states).
int64_t rnn_gate_width(const RnnDims& d);

// What the forward keeps for the backward (all in sorted order, time-major; allocated by the caller once per call):
//   gates  [time, batch, rnn_gate_width]
//   states [time + 1, batch, hidden]: states[t+1] is the state after step t (forward; states[0] = h0), or states[t]
//          the state after step t (reverse; states[time] = h0); must start zeroed when the batch is padded
//          (!full()), so that the rows past a sequence's end stay finite for the weight-gradient GEMM
//   cells  [time + 1, batch, hidden], LSTM only (null otherwise), laid out like states
//   scratch [batch, 3 * hidden], GRU only: W_h h of the current step
struct RnnSaved {
  float* gates = nullptr;
  float* states = nullptr;
  float* cells = nullptr;
  float* scratch = nullptr;
};

struct RnnWeights {
  const float* w_ih;  // [gates*H, input]
  const float* w_hh;  // [gates*H, H]
  const float* b_ih;  // [gates*H]
  const float* b_hh;  // [gates*H]
};

// x [batch, time, input] -> xs [time, batch, input] in sorted order, zero past each sequence's end. The layout every
// kernel below takes its input in (shared by both directions).
void rnn_gather_input(const RnnBatch& b, int64_t input, const float* x, float* xs);
// dx [batch, time, input] (overwritten) from dxs [time, batch, input]: the inverse of rnn_gather_input.
void rnn_scatter_input_grad(const RnnBatch& b, int64_t input, const float* dxs, float* dx);

// Forward of one direction.
//   xs [time, batch, input] from rnn_gather_input; h0, c0 [batch, H] in the caller's order, or null (zeros)
//   y: H columns of each of the batch*time rows of a [batch, time, ldy] array (pass y + H for the reverse half of
//      a bidirectional output); zero at t >= L
//   h_n, c_n [batch, H]: the state after each sequence's last step (c_n LSTM only)
void rnn_forward(const RnnBatch& b, const RnnDims& d, const float* xs, const RnnWeights& w, const float* h0,
                 const float* c0, const RnnSaved& saved, float* y, int64_t ldy, float* h_n, float* c_n);

// Backward of one direction, after rnn_forward with the same arguments. saved.gates is consumed (overwritten by
// the gate gradients). Gradients:
//   dy like y (H columns of [batch, time, ldy]); dh_n, dc_n [batch, H] or null (zero)
//   dxs [time, batch, input]: accumulated (+=), so both directions add into one buffer; null: not wanted
//   dw_ih, dw_hh, db_ih, db_hh: accumulated (+=)
//   dh0, dc0 [batch, H]: overwritten; may be null (not wanted)
void rnn_backward(const RnnBatch& b, const RnnDims& d, const float* xs, const RnnWeights& w, const RnnSaved& saved,
                  const float* dy, int64_t ldy, const float* dh_n, const float* dc_n, float* dxs, float* dw_ih,
                  float* dw_hh, float* db_ih, float* db_hh, float* dh0, float* dc0);

}  // namespace attn::kernels
