#include "attn/autograd/ops/rnn.h"

#include <omp.h>

#include <array>
#include <memory>
#include <string>

#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "attn/kernels/elementwise.h"

namespace attn::autograd {
namespace {

// The op has three outputs but the graph has one-output nodes: output is the op's node, h_n and c_n are nodes
// fed by it whose backward parks their gradient here for the op's backward (which runs after them, being their
// input) and makes sure the op's backward runs even when only h_n is used.
struct StateGrads {
  Tensor dh_n, dc_n;
};

Var state_output(const char* op, Tensor value, const Var& main, const std::shared_ptr<StateGrads>& grads, bool cell) {
  return make_result(op, std::move(value), {main}, [grads, cell](Node& n) {
    (cell ? grads->dc_n : grads->dh_n) = n.grad.contiguous();
    Node& m = *n.inputs[0];
    if (!m.grad.defined()) m.grad = Tensor::zeros(m.value.shape());
  });
}

// With two threads or more, the two directions of a layer run side by side, a thread each: every time step is
// a small product plus a gate pass, too little to split over threads without a barrier per step.
bool directions_side_by_side() { return num_threads() >= 2 && !omp_in_parallel(); }

// f(k) for each direction k; f must not throw (arguments are checked and outputs allocated before).
template <class F>
void for_each_direction(int64_t dirs, F&& f) {
  if (dirs == 2 && directions_side_by_side()) {
#pragma omp parallel for num_threads(2) schedule(static, 1)
    for (int64_t k = 0; k < 2; ++k) f(k);
    return;
  }
  for (int64_t k = 0; k < dirs; ++k) f(k);
}

void check_shape(const std::string& op, const char* what, const Var& v, const Shape& want) {
  ATTN_CHECK(v.shape() == want, "{}: {} has shape {}, expected {}", op, what, shape_str(v.shape()), shape_str(want));
}

}  // namespace

RnnLayerResult rnn_layer(kernels::RnnCell cell, const Var& x, std::span<const int32_t> lengths,
                         const std::vector<RnnDirectionWeights>& directions, const Var& h0, const Var& c0) {
  const std::string op = fmt::format("rnn_layer({})", kernels::rnn_cell_name(cell));
  const bool lstm = cell == kernels::RnnCell::kLstm;
  const int64_t dirs = int64_t(directions.size());
  ATTN_CHECK(dirs == 1 || dirs == 2, "{}: needs 1 or 2 directions of weights, got {}", op, dirs);
  ATTN_CHECK(x.defined() && x.value().dim() == 3, "{}: input must be [batch, time, input], got {}", op,
             x.defined() ? shape_str(x.shape()) : "none");
  const int64_t B = x.size(0), T = x.size(1), I = x.size(2);
  ATTN_CHECK(B > 0 && T > 0 && I > 0, "{}: input of shape {} has a zero-length dimension", op, shape_str(x.shape()));
  for (const auto& w : directions) {
    ATTN_CHECK(w.w_ih.defined() && w.w_hh.defined() && w.b_ih.defined() && w.b_hh.defined(),
               "{}: every direction needs w_ih, w_hh, b_ih and b_hh", op);
  }
  ATTN_CHECK(directions[0].w_hh.value().dim() == 2, "{}: w_hh must be 2-d, got {}", op,
             shape_str(directions[0].w_hh.shape()));
  const int64_t H = directions[0].w_hh.size(1), GH = kernels::rnn_gate_count(cell) * H;
  ATTN_CHECK(H > 0, "{}: hidden size 0", op);
  for (const auto& w : directions) {
    check_shape(op, "w_ih", w.w_ih, {GH, I});
    check_shape(op, "w_hh", w.w_hh, {GH, H});
    check_shape(op, "b_ih", w.b_ih, {GH});
    check_shape(op, "b_hh", w.b_hh, {GH});
  }
  if (h0.defined()) check_shape(op, "h0", h0, {dirs, B, H});
  ATTN_CHECK(!c0.defined() || lstm, "{}: only the LSTM takes an initial cell state c0", op);
  if (c0.defined()) check_shape(op, "c0", c0, {dirs, B, H});
  ATTN_CHECK(lengths.empty() || int64_t(lengths.size()) == B, "{}: {} lengths for a batch of {} (input {})", op,
             lengths.size(), B, shape_str(x.shape()));
  const auto plan = std::make_shared<kernels::RnnBatch>(
      kernels::rnn_batch(op.c_str(), B, T, lengths.empty() ? nullptr : lengths.data()));

  const kernels::RnnDims dims0{cell, I, H, false};
  const int64_t W = kernels::rnn_gate_width(dims0);
  Tensor xs = Tensor::empty({T, B, I});
  kernels::rnn_gather_input(*plan, I, x.value().contiguous().data(), xs.data());
  Tensor h0v = h0.defined() ? h0.value().contiguous() : Tensor();
  Tensor c0v = c0.defined() ? c0.value().contiguous() : Tensor();

  struct Direction {
    Tensor w_ih, w_hh, b_ih, b_hh, gates, states, cells;
    kernels::RnnWeights ptrs() const { return {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}; }
    kernels::RnnSaved saved() { return {gates.data(), states.data(), cells.defined() ? cells.data() : nullptr, nullptr}; }
  };
  std::vector<Direction> dir(static_cast<size_t>(dirs));
  Tensor y = Tensor::empty({B, T, dirs * H}), h_n = Tensor::empty({dirs, B, H});
  Tensor c_n = lstm ? Tensor::empty({dirs, B, H}) : Tensor();
  Tensor scratch = cell == kernels::RnnCell::kGru ? Tensor::empty({dirs, B, GH}) : Tensor();
  for (int64_t k = 0; k < dirs; ++k) {  // everything allocated before the directions run
    Direction& d = dir[size_t(k)];
    const auto& w = directions[size_t(k)];
    d.w_ih = w.w_ih.value().contiguous();
    d.w_hh = w.w_hh.value().contiguous();
    d.b_ih = w.b_ih.value().contiguous();
    d.b_hh = w.b_hh.value().contiguous();
    d.gates = Tensor::empty({T, B, W});
    d.states = plan->full() ? Tensor::empty({T + 1, B, H}) : Tensor::zeros({T + 1, B, H});
    if (lstm) d.cells = Tensor::empty({T + 1, B, H});
  }
  for_each_direction(dirs, [&](int64_t k) {
    Direction& d = dir[size_t(k)];
    kernels::RnnSaved saved = d.saved();
    saved.scratch = scratch.defined() ? scratch.data() + k * B * GH : nullptr;
    kernels::rnn_forward(*plan, {cell, I, H, k == 1}, xs.data(), d.ptrs(),
                         h0v.defined() ? h0v.data() + k * B * H : nullptr,
                         c0v.defined() ? c0v.data() + k * B * H : nullptr, saved, y.data() + k * H, dirs * H,
                         h_n.data() + k * B * H, lstm ? c_n.data() + k * B * H : nullptr);
  });

  std::vector<Var> inputs{x};
  for (const auto& w : directions) inputs.insert(inputs.end(), {w.w_ih, w.w_hh, w.b_ih, w.b_hh});
  const size_t h0_index = inputs.size();
  if (h0.defined()) inputs.push_back(h0);
  const size_t c0_index = inputs.size();
  if (c0.defined()) inputs.push_back(c0);

  auto grads = std::make_shared<StateGrads>();
  const bool has_h0 = h0.defined(), has_c0 = c0.defined();
  RnnLayerResult result;
  // Backward: per direction, BPTT from dy and d h_n (d c_n); dx gathers both directions in the sorted layout.
  result.output = make_result("rnn_layer", std::move(y), inputs, [=](Node& node) mutable {
    Tensor dy = node.grad.contiguous();
    const bool want_dx = node.inputs[0]->requires_grad;
    // Both directions add into dxs; running side by side, the second gets its own buffer, added after.
    const bool apart = dirs == 2 && directions_side_by_side();
    Tensor dxs = want_dx ? Tensor::zeros({T, B, I}) : Tensor();
    Tensor dxs2 = want_dx && apart ? Tensor::zeros({T, B, I}) : Tensor();
    Tensor dh0 = Tensor::empty({dirs, B, H}), dc0 = lstm ? Tensor::empty({dirs, B, H}) : Tensor();
    std::vector<std::array<Tensor, 4>> dw(static_cast<size_t>(dirs));  // dw_ih, dw_hh, db_ih, db_hh
    for (int64_t k = 0; k < dirs; ++k) {
      const Direction& d = dir[size_t(k)];
      dw[size_t(k)] = {Tensor::zeros(d.w_ih.shape()), Tensor::zeros(d.w_hh.shape()), Tensor::zeros({GH}),
                       Tensor::zeros({GH})};
    }
    for_each_direction(dirs, [&](int64_t k) {
      Direction& d = dir[size_t(k)];
      auto& g = dw[size_t(k)];
      const float* dh_n = grads->dh_n.defined() ? grads->dh_n.data() + k * B * H : nullptr;
      const float* dc_n = grads->dc_n.defined() ? grads->dc_n.data() + k * B * H : nullptr;
      float* dx_out = !want_dx ? nullptr : k == 1 && apart ? dxs2.data() : dxs.data();
      kernels::rnn_backward(*plan, {cell, I, H, k == 1}, xs.data(), d.ptrs(), d.saved(), dy.data() + k * H, dirs * H,
                            dh_n, dc_n, dx_out, g[0].data(), g[1].data(), g[2].data(), g[3].data(),
                            dh0.data() + k * B * H, lstm ? dc0.data() + k * B * H : nullptr);
    });
    for (int64_t k = 0; k < dirs; ++k) {
      const size_t base = 1 + 4 * size_t(k);
      for (size_t p = 0; p < 4; ++p) {
        if (node.inputs[base + p]->requires_grad) accumulate_grad(*node.inputs[base + p], std::move(dw[size_t(k)][p]));
      }
    }
    if (dxs2.defined()) kernels::axpy(dxs.numel(), 1.0f, dxs2.data(), dxs.data());
    if (want_dx) {
      Tensor dx = Tensor::empty({B, T, I});
      kernels::rnn_scatter_input_grad(*plan, I, dxs.data(), dx.data());
      accumulate_grad(*node.inputs[0], std::move(dx));
    }
    if (has_h0 && node.inputs[h0_index]->requires_grad) accumulate_grad(*node.inputs[h0_index], std::move(dh0));
    if (has_c0 && node.inputs[c0_index]->requires_grad) accumulate_grad(*node.inputs[c0_index], std::move(dc0));
    grads->dh_n = Tensor();
    grads->dc_n = Tensor();
  });
  result.h_n = state_output("rnn_layer.h_n", std::move(h_n), result.output, grads, false);
  if (lstm) result.c_n = state_output("rnn_layer.c_n", std::move(c_n), result.output, grads, true);
  return result;
}

}  // namespace attn::autograd
