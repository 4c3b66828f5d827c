// The recurrent-layer kernels (one direction of an Elman RNN, LSTM or GRU over a padded batch) against a plain
// double-precision reference written from PyTorch's formulas, one example at a time: outputs and final states, and
// every gradient against central differences of the reference.
#include "attn/kernels/rnn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "attn/core/error.h"
#include "support/test_util.h"

namespace attn::kernels {
namespace {

using testing::all_close;
using testing::random_floats;
using testing::random_int;

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct Problem {
  RnnCell cell = RnnCell::kLstm;
  int64_t B = 0, T = 0, I = 0, H = 0;
  bool reverse = false;
  bool with_state = true;  // h0 / c0 given (else zeros)
  std::vector<int32_t> lengths;
  std::vector<double> x, w_ih, w_hh, b_ih, b_hh, h0, c0;
  int64_t gh() const { return rnn_gate_count(cell) * H; }
};

std::vector<double> doubles(int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> f = random_floats(n, lo, hi);
  return {f.begin(), f.end()};
}

Problem make_problem(RnnCell cell, bool reverse, int64_t B, int64_t T, int64_t I, int64_t H, bool with_state) {
  Problem p;
  p.cell = cell;
  p.B = B, p.T = T, p.I = I, p.H = H;
  p.reverse = reverse;
  p.with_state = with_state;
  for (int64_t b = 0; b < B; ++b) p.lengths.push_back(int32_t(random_int(1, T)));
  p.lengths[size_t(random_int(0, B - 1))] = int32_t(T);
  p.x = doubles(B * T * I, -1.5f, 1.5f);
  p.w_ih = doubles(p.gh() * I, -0.6f, 0.6f);
  p.w_hh = doubles(p.gh() * H, -0.6f, 0.6f);
  p.b_ih = doubles(p.gh(), -0.5f, 0.5f);
  p.b_hh = doubles(p.gh(), -0.5f, 0.5f);
  p.h0 = with_state ? doubles(B * H) : std::vector<double>(size_t(B * H), 0.0);
  p.c0 = with_state ? doubles(B * H) : std::vector<double>(size_t(B * H), 0.0);
  return p;
}

struct Result {
  std::vector<double> y, h_n, c_n;  // y [B, T, H]
};

// One example at a time, straight from the formulas.
Result reference(const Problem& p) {
  const int64_t H = p.H, I = p.I, GH = p.gh();
  Result r{std::vector<double>(size_t(p.B * p.T * H), 0.0), std::vector<double>(size_t(p.B * H)),
           std::vector<double>(size_t(p.B * H))};
  for (int64_t b = 0; b < p.B; ++b) {
    std::vector<double> h(p.h0.begin() + b * H, p.h0.begin() + (b + 1) * H);
    std::vector<double> c(p.c0.begin() + b * H, p.c0.begin() + (b + 1) * H);
    const int64_t L = p.lengths[size_t(b)];
    for (int64_t s = 0; s < L; ++s) {
      const int64_t t = p.reverse ? L - 1 - s : s;
      std::vector<double> gi(static_cast<size_t>(GH)), gh(static_cast<size_t>(GH));
      for (int64_t j = 0; j < GH; ++j) {
        double a = p.b_ih[size_t(j)], e = p.b_hh[size_t(j)];
        for (int64_t k = 0; k < I; ++k) a += p.w_ih[size_t(j * I + k)] * p.x[size_t((b * p.T + t) * I + k)];
        for (int64_t k = 0; k < H; ++k) e += p.w_hh[size_t(j * H + k)] * h[size_t(k)];
        gi[size_t(j)] = a;
        gh[size_t(j)] = e;
      }
      for (int64_t j = 0; j < H; ++j) {
        auto at = [&](const std::vector<double>& v, int64_t gate) { return v[size_t(gate * H + j)]; };
        switch (p.cell) {
          case RnnCell::kTanh: h[size_t(j)] = std::tanh(at(gi, 0) + at(gh, 0)); break;
          case RnnCell::kRelu: h[size_t(j)] = std::max(0.0, at(gi, 0) + at(gh, 0)); break;
          case RnnCell::kLstm: {
            double i = sigmoid(at(gi, 0) + at(gh, 0)), f = sigmoid(at(gi, 1) + at(gh, 1));
            double g = std::tanh(at(gi, 2) + at(gh, 2)), o = sigmoid(at(gi, 3) + at(gh, 3));
            c[size_t(j)] = f * c[size_t(j)] + i * g;
            h[size_t(j)] = o * std::tanh(c[size_t(j)]);
            break;
          }
          case RnnCell::kGru: {
            double rr = sigmoid(at(gi, 0) + at(gh, 0)), z = sigmoid(at(gi, 1) + at(gh, 1));
            double n = std::tanh(at(gi, 2) + rr * at(gh, 2));
            h[size_t(j)] = (1 - z) * n + z * h[size_t(j)];
            break;
          }
        }
      }
      std::copy(h.begin(), h.end(), r.y.begin() + (b * p.T + t) * H);
    }
    std::copy(h.begin(), h.end(), r.h_n.begin() + b * H);
    std::copy(c.begin(), c.end(), r.c_n.begin() + b * H);
  }
  return r;
}

// The loss whose gradients the tests compare: sum(wy*y) + sum(wh*h_n) (+ sum(wc*c_n) for the LSTM).
struct LossWeights {
  std::vector<double> wy, wh, wc;
};

double loss(const Problem& p, const LossWeights& w) {
  Result r = reference(p);
  double acc = 0;
  for (size_t i = 0; i < r.y.size(); ++i) acc += r.y[i] * w.wy[i];
  for (size_t i = 0; i < r.h_n.size(); ++i) acc += r.h_n[i] * w.wh[i];
  if (p.cell == RnnCell::kLstm) {
    for (size_t i = 0; i < r.c_n.size(); ++i) acc += r.c_n[i] * w.wc[i];
  }
  return acc;
}

std::vector<float> floats(const std::vector<double>& v) { return {v.begin(), v.end()}; }

struct KernelResult {
  std::vector<float> y, h_n, c_n;
  std::vector<float> dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0;
};

// Runs the kernels with y and dy as columns [1, 1 + H) of [B, T, H + 3] rows (as the reverse half of a
// bidirectional output would be), and gradient accumulators that start non-zero (they must add, not overwrite).
KernelResult run_kernels(const Problem& p, const LossWeights& lw) {
  const int64_t B = p.B, T = p.T, I = p.I, H = p.H, GH = p.gh(), ld = H + 3;
  const RnnDims dims{p.cell, I, H, p.reverse};
  const RnnBatch batch = rnn_batch("test", B, T, p.lengths.data());
  std::vector<float> x = floats(p.x), w_ih = floats(p.w_ih), w_hh = floats(p.w_hh), b_ih = floats(p.b_ih),
                     b_hh = floats(p.b_hh), h0 = floats(p.h0), c0 = floats(p.c0);
  const RnnWeights w{w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()};
  std::vector<float> xs(size_t(T * B * I));
  rnn_gather_input(batch, I, x.data(), xs.data());
  std::vector<float> gates(size_t(T * B * rnn_gate_width(dims)), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> states(size_t((T + 1) * B * H), 0.0f), cells(size_t((T + 1) * B * H)), scratch(size_t(B * GH));
  const RnnSaved saved{gates.data(), states.data(), cells.data(), scratch.data()};
  std::vector<float> y(size_t(B * T * ld), 7.0f), dy(size_t(B * T * ld), 5.0f);
  for (int64_t r = 0; r < B * T; ++r) {
    for (int64_t j = 0; j < H; ++j) dy[size_t(r * ld + 1 + j)] = float(lw.wy[size_t(r * H + j)]);
  }
  KernelResult k;
  k.h_n.resize(size_t(B * H));
  k.c_n.resize(size_t(B * H));
  rnn_forward(batch, dims, xs.data(), w, p.with_state ? h0.data() : nullptr, p.with_state ? c0.data() : nullptr,
              saved, y.data() + 1, ld, k.h_n.data(), k.c_n.data());
  for (int64_t r = 0; r < B * T; ++r) {
    for (int64_t j = 0; j < H; ++j) k.y.push_back(y[size_t(r * ld + 1 + j)]);
    EXPECT_EQ(y[size_t(r * ld)], 7.0f) << "wrote outside its columns";
  }
  std::vector<float> dxs(size_t(T * B * I), 0.0f), wh = floats(lw.wh), wc = floats(lw.wc);
  const float kStart = 0.25f;
  k.dw_ih.assign(size_t(GH * I), kStart);
  k.dw_hh.assign(size_t(GH * H), kStart);
  k.db_ih.assign(size_t(GH), kStart);
  k.db_hh.assign(size_t(GH), kStart);
  k.dh0.resize(size_t(B * H));
  k.dc0.resize(size_t(B * H));
  rnn_backward(batch, dims, xs.data(), w, saved, dy.data() + 1, ld, wh.data(), wc.data(), dxs.data(), k.dw_ih.data(),
               k.dw_hh.data(), k.db_ih.data(), k.db_hh.data(), k.dh0.data(), k.dc0.data());
  for (auto* v : {&k.dw_ih, &k.dw_hh, &k.db_ih, &k.db_hh}) {
    for (float& e : *v) e -= kStart;
  }
  k.dx.assign(size_t(B * T * I), 3.0f);
  rnn_scatter_input_grad(batch, I, dxs.data(), k.dx.data());
  return k;
}

const RnnCell kCells[] = {RnnCell::kTanh, RnnCell::kRelu, RnnCell::kLstm, RnnCell::kGru};

TEST(RnnKernel, ForwardMatchesReference) {
  for (RnnCell cell : kCells) {
    for (bool reverse : {false, true}) {
      for (int rep = 0; rep < 3; ++rep) {
        const int64_t B = random_int(1, 7), T = random_int(1, 9), I = random_int(1, 13), H = random_int(1, 21);
        Problem p = make_problem(cell, reverse, B, T, I, H, rep != 1);
        SCOPED_TRACE(::testing::Message() << rnn_cell_name(cell) << (reverse ? " reverse" : "") << " B=" << B
                                          << " T=" << T << " I=" << I << " H=" << H);
        LossWeights lw{doubles(B * T * H), doubles(B * H), doubles(B * H)};
        Result want = reference(p);
        KernelResult got = run_kernels(p, lw);
        EXPECT_TRUE(all_close(got.y, want.y, 1e-4, 1e-5)) << "y";
        EXPECT_TRUE(all_close(got.h_n, want.h_n, 1e-4, 1e-5)) << "h_n";
        if (cell == RnnCell::kLstm) {
          EXPECT_TRUE(all_close(got.c_n, want.c_n, 1e-4, 1e-5)) << "c_n";
        }
      }
    }
  }
}

TEST(RnnKernel, BackwardMatchesNumericGradient) {
  for (RnnCell cell : kCells) {
    for (bool reverse : {false, true}) {
      for (int rep = 0; rep < 2; ++rep) {
        const int64_t B = random_int(1, 5), T = random_int(1, 6), I = random_int(1, 5), H = random_int(1, 11);
        Problem p = make_problem(cell, reverse, B, T, I, H, rep == 0);
        SCOPED_TRACE(::testing::Message() << rnn_cell_name(cell) << (reverse ? " reverse" : "") << " B=" << B
                                          << " T=" << T << " I=" << I << " H=" << H);
        LossWeights lw{doubles(B * T * H), doubles(B * H), doubles(B * H)};
        KernelResult got = run_kernels(p, lw);
        auto numeric = [&](std::vector<double> Problem::*field) {
          return testing::numeric_gradient(
              [&](const std::vector<double>& v) {
                Problem q = p;
                q.*field = v;
                return loss(q, lw);
              },
              p.*field);
        };
        // The relu's kink makes central differences unreliable within h of zero; 1e-6 is far below the data's
        // spacing, so no pre-activation lands there.
        const double rtol = 2e-3, atol = 2e-4;
        EXPECT_TRUE(all_close(got.dx, numeric(&Problem::x), rtol, atol)) << "dx";
        EXPECT_TRUE(all_close(got.dw_ih, numeric(&Problem::w_ih), rtol, atol)) << "dw_ih";
        EXPECT_TRUE(all_close(got.dw_hh, numeric(&Problem::w_hh), rtol, atol)) << "dw_hh";
        EXPECT_TRUE(all_close(got.db_ih, numeric(&Problem::b_ih), rtol, atol)) << "db_ih";
        EXPECT_TRUE(all_close(got.db_hh, numeric(&Problem::b_hh), rtol, atol)) << "db_hh";
        EXPECT_TRUE(all_close(got.dh0, numeric(&Problem::h0), rtol, atol)) << "dh0";
        if (cell == RnnCell::kLstm) {
          EXPECT_TRUE(all_close(got.dc0, numeric(&Problem::c0), rtol, atol)) << "dc0";
        }
      }
    }
  }
}

// Wide enough (batch x gate width >= 2^15) that the gate passes split rows across threads.
TEST(RnnKernel, ForwardMatchesReferenceOnLargeBatch) {
  for (RnnCell cell : kCells) {
    Problem p = make_problem(cell, cell == RnnCell::kLstm, 67, 3, 5, 131, true);
    LossWeights lw{doubles(67 * 3 * 131), doubles(67 * 131), doubles(67 * 131)};
    Result want = reference(p);
    KernelResult got = run_kernels(p, lw);
    EXPECT_TRUE(all_close(got.y, want.y, 1e-4, 1e-5)) << rnn_cell_name(cell);
    EXPECT_TRUE(all_close(got.h_n, want.h_n, 1e-4, 1e-5)) << rnn_cell_name(cell);
  }
}

// Hidden sizes whose gate widths are whole vectors run each step's product in the register-tiled kernel (weights
// packed into panels) rather than the BLAS: B = 7 covers a full 6-row tile plus a 1-row tail. Hidden 12 (the LSTM's
// 48 gate columns are whole vectors) packs W_hh^T from rows that are not a whole number of 8 x 8 blocks.
TEST(RnnKernel, TiledStepsMatchNumericGradient) {
  const std::pair<RnnCell, int64_t> cases[] = {
      {RnnCell::kTanh, 16}, {RnnCell::kRelu, 16}, {RnnCell::kLstm, 16}, {RnnCell::kGru, 16}, {RnnCell::kLstm, 12}};
  for (auto [cell, hidden] : cases) {
    Problem p = make_problem(cell, cell == RnnCell::kGru, 7, 4, 3, hidden, true);
    SCOPED_TRACE(std::string(rnn_cell_name(cell)) + " hidden " + std::to_string(hidden));
    LossWeights lw{doubles(7 * 4 * hidden), doubles(7 * hidden), doubles(7 * hidden)};
    const Result want = reference(p);
    KernelResult got = run_kernels(p, lw);
    EXPECT_TRUE(all_close(got.y, want.y, 1e-4, 1e-5)) << "y";
    EXPECT_TRUE(all_close(got.h_n, want.h_n, 1e-4, 1e-5)) << "h_n";
    auto numeric = [&](std::vector<double> Problem::*field) {
      return testing::numeric_gradient(
          [&](const std::vector<double>& v) {
            Problem q = p;
            q.*field = v;
            return loss(q, lw);
          },
          p.*field);
    };
    const double rtol = 2e-3, atol = 2e-4;
    EXPECT_TRUE(all_close(got.dx, numeric(&Problem::x), rtol, atol)) << "dx";
    EXPECT_TRUE(all_close(got.dw_hh, numeric(&Problem::w_hh), rtol, atol)) << "dw_hh";
    EXPECT_TRUE(all_close(got.dh0, numeric(&Problem::h0), rtol, atol)) << "dh0";
    if (cell == RnnCell::kLstm) {
      EXPECT_TRUE(all_close(got.dc0, numeric(&Problem::c0), rtol, atol)) << "dc0";
    }
  }
}

// A batch big enough that each step's tiled product splits its rows over the threads (LSTM and GRU; the Elman
// cells' products are 4x smaller), against the same problem run one example at a time (single-row products):
// outputs, states and every gradient.
TEST(RnnKernel, LargeTiledBatchMatchesExamplesRunAlone) {
  for (RnnCell cell : {RnnCell::kLstm, RnnCell::kGru}) {
    const int64_t B = 43, T = 3, I = 5, H = 64;
    Problem p = make_problem(cell, cell == RnnCell::kLstm, B, T, I, H, true);
    SCOPED_TRACE(rnn_cell_name(cell));
    LossWeights lw{doubles(B * T * H), doubles(B * H), doubles(B * H)};
    const Result want = reference(p);
    KernelResult got = run_kernels(p, lw);
    EXPECT_TRUE(all_close(got.y, want.y, 1e-4, 1e-5)) << "y";
    EXPECT_TRUE(all_close(got.h_n, want.h_n, 1e-4, 1e-5)) << "h_n";
    std::vector<double> dw_ih(got.dw_ih.size()), dw_hh(got.dw_hh.size()), db_ih(got.db_ih.size()),
        db_hh(got.db_hh.size()), dx, dh0, dc0;
    for (int64_t b = 0; b < B; ++b) {
      Problem one = p;
      one.B = 1;
      one.lengths = {p.lengths[size_t(b)]};
      auto rows = [&](const std::vector<double>& v, int64_t width) {
        return std::vector<double>(v.begin() + b * width, v.begin() + (b + 1) * width);
      };
      one.x = rows(p.x, T * I);
      one.h0 = rows(p.h0, H);
      one.c0 = rows(p.c0, H);
      KernelResult r = run_kernels(one, {rows(lw.wy, T * H), rows(lw.wh, H), rows(lw.wc, H)});
      for (auto [sum, part] :
           {std::pair{&dw_ih, &r.dw_ih}, {&dw_hh, &r.dw_hh}, {&db_ih, &r.db_ih}, {&db_hh, &r.db_hh}}) {
        for (size_t i = 0; i < sum->size(); ++i) (*sum)[i] += (*part)[i];
      }
      dx.insert(dx.end(), r.dx.begin(), r.dx.end());
      dh0.insert(dh0.end(), r.dh0.begin(), r.dh0.end());
      dc0.insert(dc0.end(), r.dc0.begin(), r.dc0.end());
    }
    EXPECT_TRUE(all_close(got.dx, dx, 1e-4, 1e-5)) << "dx";
    EXPECT_TRUE(all_close(got.dh0, dh0, 1e-4, 1e-5)) << "dh0";
    if (cell == RnnCell::kLstm) {
      EXPECT_TRUE(all_close(got.dc0, dc0, 1e-4, 1e-5)) << "dc0";
    }
    EXPECT_TRUE(all_close(got.dw_ih, dw_ih, 1e-4, 1e-4)) << "dw_ih";
    EXPECT_TRUE(all_close(got.dw_hh, dw_hh, 1e-4, 1e-4)) << "dw_hh";
    EXPECT_TRUE(all_close(got.db_ih, db_ih, 1e-4, 1e-4)) << "db_ih";
    EXPECT_TRUE(all_close(got.db_hh, db_hh, 1e-4, 1e-4)) << "db_hh";
  }
}

TEST(RnnKernel, PaddedStepsGetZeroOutputAndGradient) {
  for (RnnCell cell : kCells) {
    Problem p = make_problem(cell, cell == RnnCell::kGru, 4, 6, 3, 5, true);
    p.lengths = {2, 6, 1, 4};
    LossWeights lw{doubles(4 * 6 * 5), doubles(4 * 5), doubles(4 * 5)};
    KernelResult got = run_kernels(p, lw);
    for (int64_t b = 0; b < 4; ++b) {
      for (int64_t t = p.lengths[size_t(b)]; t < 6; ++t) {
        for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(got.y[size_t((b * 6 + t) * 5 + j)], 0.0f);
        for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(got.dx[size_t((b * 6 + t) * 3 + j)], 0.0f);
      }
    }
  }
}

TEST(RnnKernel, BatchOrderIsLongestFirstAndStable) {
  std::vector<int32_t> lengths{3, 5, 3, 1, 5};
  RnnBatch b = rnn_batch("test", 5, 5, lengths.data());
  EXPECT_EQ(b.order, (std::vector<int32_t>{1, 4, 0, 2, 3}));
  EXPECT_EQ(b.length, (std::vector<int32_t>{5, 5, 3, 3, 1}));
  EXPECT_EQ(b.active, (std::vector<int64_t>{5, 4, 4, 2, 2}));
  EXPECT_FALSE(b.full());
  EXPECT_TRUE(rnn_batch("test", 2, 3, nullptr).full());
}

TEST(RnnKernel, RejectsBadLengths) {
  for (int32_t bad : {0, -1, 6}) {
    std::vector<int32_t> lengths{3, bad};
    try {
      rnn_batch("my_op", 2, 5, lengths.data());
      FAIL() << "length " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("my_op: length " + std::to_string(bad) + " of example 1"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(rnn_batch("my_op", 0, 5, nullptr), Error);
  EXPECT_THROW(rnn_batch("my_op", 2, 0, nullptr), Error);
}

}  // namespace
}  // namespace attn::kernels
