// RNN, LSTM and GRU modules and the rnn_layer op: finite-difference gradients (uni- and bidirectional, one and two
// layers, padded batches), padding invariance (a padded batch gives each sequence exactly what running it alone
// gives, and no gradient reaches padded inputs), PyTorch's parameter names and shapes, dropout, and errors.
#include "attn/nn/rnn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/autograd/ops/shape.h"
#include "attn/core/error.h"
#include "attn/core/threads.h"
#include "autograd/gradcheck.h"
#include "support/test_util.h"

namespace attn::nn {
namespace {

using autograd::Var;
using kernels::RnnCell;
using testing::all_close;
using testing::random_floats;
using testing::random_int;

const RnnCell kCells[] = {RnnCell::kTanh, RnnCell::kRelu, RnnCell::kLstm, RnnCell::kGru};
// Float finite differences need steps of 1e-2, which straddle the relu's kink too often; the relu's backward is
// checked against double-precision differences in tests/kernels/rnn_test.cpp and by PaddingInvariance here.
const RnnCell kSmoothCells[] = {RnnCell::kTanh, RnnCell::kLstm, RnnCell::kGru};

std::unique_ptr<RecurrentBase> make_module(RnnCell cell, const RnnOptions& o, Rng& rng) {
  switch (cell) {
    case RnnCell::kTanh: return std::make_unique<RNN>(o, rng);
    case RnnCell::kRelu: return std::make_unique<RNN>(o, rng, RNN::Nonlinearity::kRelu);
    case RnnCell::kLstm: return std::make_unique<LSTM>(o, rng);
    case RnnCell::kGru: return std::make_unique<GRU>(o, rng);
  }
  return nullptr;
}

RnnOutput run(RecurrentBase& m, const Var& x, std::span<const int32_t> lengths, const Var& h0 = {},
              const Var& c0 = {}) {
  if (auto* lstm = dynamic_cast<LSTM*>(&m)) return lstm->forward(x, lengths, h0, c0);
  if (auto* gru = dynamic_cast<GRU*>(&m)) return gru->forward(x, lengths, h0);
  return dynamic_cast<RNN&>(m).forward(x, lengths, h0);
}

// All outputs as one flat Var (so one weighted sum tests the gradient of each, h_n and c_n included).
Var flatten_all(const RnnOutput& r) {
  std::vector<Var> parts{autograd::reshape(r.output, {-1}), autograd::reshape(r.h_n, {-1})};
  if (r.c_n.defined()) parts.push_back(autograd::reshape(r.c_n, {-1}));
  return autograd::concat(parts, 0);
}

std::vector<int32_t> random_lengths(int64_t B, int64_t T) {
  std::vector<int32_t> l;
  for (int64_t b = 0; b < B; ++b) l.push_back(int32_t(random_int(1, T)));
  l[size_t(random_int(0, B - 1))] = int32_t(T);  // the longest fills the input, as with pad_packed_sequence
  return l;
}

std::string label(RnnCell cell, bool bi, int64_t layers) {
  return std::string(kernels::rnn_cell_name(cell)) + (bi ? " bidirectional" : "") + " layers=" + std::to_string(layers);
}

// The op itself, weights as gradcheck inputs: x, then per direction w_ih, w_hh, b_ih, b_hh, then h0 (and c0).
TEST(RnnLayerOp, GradCheck) {
  for (RnnCell cell : kSmoothCells) {
    for (bool bi : {false, true}) {
      const int64_t B = random_int(1, 4), T = random_int(1, 5), I = random_int(1, 4), H = random_int(1, 6);
      const int64_t dirs = bi ? 2 : 1, GH = kernels::rnn_gate_count(cell) * H;
      const bool lstm = cell == RnnCell::kLstm;
      SCOPED_TRACE(label(cell, bi, 1) + " B=" + std::to_string(B) + " T=" + std::to_string(T));
      std::vector<int32_t> lengths = random_lengths(B, T);
      std::vector<Shape> shapes{{B, T, I}};
      for (int64_t d = 0; d < dirs; ++d) shapes.insert(shapes.end(), {{GH, I}, {GH, H}, {GH}, {GH}});
      shapes.push_back({dirs, B, H});
      if (lstm) shapes.push_back({dirs, B, H});
      auto f = [&](const std::vector<Var>& in) {
        std::vector<autograd::RnnDirectionWeights> w;
        for (int64_t d = 0; d < dirs; ++d) w.push_back({in[1 + 4 * d], in[2 + 4 * d], in[3 + 4 * d], in[4 + 4 * d]});
        auto r = autograd::rnn_layer(cell, in[0], lengths, w, in[1 + 4 * dirs], lstm ? in[2 + 4 * dirs] : Var());
        return flatten_all({r.output, r.h_n, r.c_n});
      };
      EXPECT_TRUE(testing::gradcheck(f, shapes, 1e-2, 2e-2, 2e-3, -0.8f, 0.8f));
    }
  }
}

// With two threads the two directions run side by side (a thread each, the second adding its input gradient
// into a buffer of its own): the same results as one thread running them in turn.
TEST(RnnLayerOp, DirectionsSideBySideMatchOneThread) {
  const int keep = num_threads();
  for (RnnCell cell : {RnnCell::kLstm, RnnCell::kGru}) {
    const int64_t B = 9, T = 7, I = 5, H = 16, GH = kernels::rnn_gate_count(cell) * H;
    const std::vector<int32_t> lengths = random_lengths(B, T);
    std::vector<Tensor> init{Tensor::from_vector({B, T, I}, random_floats(B * T * I))};
    for (int64_t k = 0; k < 8; ++k) {
      const Shape shape = k % 4 == 0 ? Shape{GH, I} : k % 4 == 1 ? Shape{GH, H} : Shape{GH};
      init.push_back(Tensor::from_vector(shape, random_floats(shape_numel(shape), -0.5f, 0.5f)));
    }
    const Tensor w_out = Tensor::from_vector({B, T, 2 * H}, random_floats(B * T * 2 * H));
    auto run_with = [&](int threads) {
      set_num_threads(threads);
      std::vector<Var> in;
      for (const Tensor& t : init) in.emplace_back(t.clone(), true);
      std::vector<autograd::RnnDirectionWeights> w{{in[1], in[2], in[3], in[4]}, {in[5], in[6], in[7], in[8]}};
      auto r = autograd::rnn_layer(cell, in[0], lengths, w);
      std::vector<float> all = r.output.value().to_vector();
      r.output.backward(w_out);
      for (const Var& v : in) {
        std::vector<float> g = v.grad().to_vector();
        all.insert(all.end(), g.begin(), g.end());
      }
      return all;
    };
    const std::vector<float> one = run_with(1), two = run_with(2);
    EXPECT_TRUE(all_close(two, std::vector<double>(one.begin(), one.end()), 1e-5, 1e-6))
        << kernels::rnn_cell_name(cell);
  }
  set_num_threads(keep);
}

// d loss / d parameter by central differences for every parameter of a module, against backward().
::testing::AssertionResult check_parameter_grads(Module& m, const std::function<Var()>& f, double h = 1e-2) {
  Var out = f();
  Tensor w = Tensor::from_vector(out.shape(), random_floats(out.numel()));
  m.zero_grad();
  out.backward(w);
  auto loss = [&] {
    autograd::NoGradGuard no_grad;
    std::vector<float> o = f().value().to_vector(), wv = w.to_vector();
    double acc = 0;
    for (size_t i = 0; i < o.size(); ++i) acc += double(o[i]) * wv[i];
    return acc;
  };
  for (auto& [name, p] : m.named_parameters()) {
    Tensor v = p.value();
    std::vector<double> numeric;
    for (int64_t i = 0; i < v.numel(); ++i) {
      const float keep = v.data()[i];
      v.data()[i] = keep + float(h);
      const double up = loss();
      v.data()[i] = keep - float(h);
      const double down = loss();
      v.data()[i] = keep;
      numeric.push_back((up - down) / (2 * h));
    }
    if (!p.grad().defined()) return ::testing::AssertionFailure() << name << " got no gradient";
    auto r = all_close(p.grad().to_vector(), numeric, 2e-2, 2e-3);
    if (!r) return ::testing::AssertionFailure() << name << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

TEST(RnnModule, GradCheckInputsStatesAndParameters) {
  for (RnnCell cell : kSmoothCells) {
    for (bool bi : {false, true}) {
      for (int64_t layers : {1, 2}) {
        const int64_t B = random_int(1, 3), T = random_int(2, 4), I = random_int(1, 3), H = random_int(1, 4);
        const int64_t dirs = bi ? 2 : 1;
        SCOPED_TRACE(label(cell, bi, layers));
        Rng rng(uint64_t(random_int(0, 1000)));
        auto m = make_module(cell, {I, H, layers, bi, 0.0f}, rng);
        std::vector<int32_t> lengths = random_lengths(B, T);
        const bool lstm = cell == RnnCell::kLstm;
        std::vector<Shape> shapes{{B, T, I}, {layers * dirs, B, H}};
        if (lstm) shapes.push_back({layers * dirs, B, H});
        auto f = [&](const std::vector<Var>& in) {
          return flatten_all(run(*m, in[0], lengths, in[1], lstm ? in[2] : Var()));
        };
        EXPECT_TRUE(testing::gradcheck(f, shapes, 1e-2, 2e-2, 2e-3));
        Var x(Tensor::from_vector({B, T, I}, random_floats(B * T * I)), true);
        EXPECT_TRUE(check_parameter_grads(*m, [&] { return flatten_all(run(*m, x, lengths)); }));
      }
    }
  }
}

// Only h_n used: the op's backward must still run (through the state node) and reach x and the weights.
TEST(RnnModule, GradientFromFinalStateAlone) {
  for (RnnCell cell : kSmoothCells) {
    Rng rng(3);
    auto m = make_module(cell, {3, 4, 2, true, 0.0f}, rng);
    std::vector<int32_t> lengths{2, 5, 3};
    auto f = [&](const std::vector<Var>& in) { return run(*m, in[0], lengths).h_n; };
    EXPECT_TRUE(testing::gradcheck(f, {{3, 5, 3}}, 1e-2, 2e-2, 2e-3)) << kernels::rnn_cell_name(cell);
  }
}

// Each sequence of a padded batch, run alone at its own length, gives the same outputs, states and gradients;
// padded inputs (NaN here) neither leak into anything nor receive gradient.
TEST(RnnModule, PaddingInvariance) {
  for (RnnCell cell : kCells) {
    for (bool bi : {false, true}) {
      const int64_t B = 4, T = 7, I = 5, H = 6, layers = 2, dirs = bi ? 2 : 1;
      SCOPED_TRACE(label(cell, bi, layers));
      Rng rng(11);
      auto m = make_module(cell, {I, H, layers, bi, 0.0f}, rng);
      std::vector<int32_t> lengths{3, 7, 1, 5};
      Tensor xv = Tensor::from_vector({B, T, I}, random_floats(B * T * I));
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t t = lengths[size_t(b)]; t < T; ++t) {
          for (int64_t j = 0; j < I; ++j) xv.at({b, t, j}) = std::numeric_limits<float>::quiet_NaN();
        }
      }
      Var x(xv, true);
      RnnOutput full = run(*m, x, lengths);
      Tensor wy = Tensor::from_vector(full.output.shape(), random_floats(full.output.numel()));
      Tensor wh = Tensor::from_vector(full.h_n.shape(), random_floats(full.h_n.numel()));
      m->zero_grad();
      flatten_all({full.output, full.h_n, {}}).backward(
          flatten_all({Var(wy), Var(wh), {}}).value());  // loss = sum(wy*output) + sum(wh*h_n)
      Tensor dx = x.grad();
      std::vector<std::vector<float>> batch_param_grads;
      for (auto& [name, p] : m->named_parameters()) batch_param_grads.push_back(p.grad().to_vector());

      std::vector<std::vector<double>> summed(batch_param_grads.size());
      for (size_t k = 0; k < summed.size(); ++k) summed[k].assign(batch_param_grads[k].size(), 0.0);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t L = lengths[size_t(b)];
        Var xb(xv.slice(0, b, b + 1).slice(1, 0, L).contiguous(), true);
        RnnOutput one = run(*m, xb, {});
        m->zero_grad();
        Tensor wyb = wy.slice(0, b, b + 1).slice(1, 0, L).contiguous();
        Tensor whb = wh.slice(1, b, b + 1).contiguous();
        flatten_all({one.output, one.h_n, {}}).backward(flatten_all({Var(wyb), Var(whb), {}}).value());
        auto expect_same = [&](const Tensor& got, const Tensor& want, const char* what) {
          std::vector<float> w = want.contiguous().to_vector();
          EXPECT_TRUE(all_close(got.contiguous().to_vector(), std::vector<double>(w.begin(), w.end()), 1e-5, 1e-6))
              << what << " of example " << b;
        };
        expect_same(full.output.value().slice(0, b, b + 1).slice(1, 0, L), one.output.value(), "output");
        expect_same(full.h_n.value().slice(1, b, b + 1), one.h_n.value(), "h_n");
        if (full.c_n.defined()) {
          expect_same(full.c_n.value().slice(1, b, b + 1), one.c_n.value(), "c_n");
        }
        expect_same(dx.slice(0, b, b + 1).slice(1, 0, L), xb.grad(), "dx");
        for (int64_t t = L; t < T; ++t) {
          for (int64_t j = 0; j < dirs * H; ++j) EXPECT_EQ(full.output.value().at({b, t, j}), 0.0f);
          for (int64_t j = 0; j < I; ++j) EXPECT_EQ(dx.at({b, t, j}), 0.0f);
        }
        size_t k = 0;
        for (auto& [name, p] : m->named_parameters()) {
          std::vector<float> g = p.grad().to_vector();
          for (size_t i = 0; i < g.size(); ++i) summed[k][i] += g[i];
          ++k;
        }
      }
      for (size_t k = 0; k < summed.size(); ++k) {
        EXPECT_TRUE(all_close(batch_param_grads[k], summed[k], 1e-4, 1e-5)) << m->named_parameters()[k].first;
      }
    }
  }
}

TEST(RnnModule, ParameterNamesShapesAndInit) {
  Rng rng(5);
  GRU gru({5, 3, 2, true, 0.0f}, rng);
  std::vector<std::pair<std::string, Shape>> want{
      {"weight_ih_l0", {9, 5}}, {"weight_hh_l0", {9, 3}}, {"bias_ih_l0", {9}}, {"bias_hh_l0", {9}},
      {"weight_ih_l0_reverse", {9, 5}}, {"weight_hh_l0_reverse", {9, 3}}, {"bias_ih_l0_reverse", {9}},
      {"bias_hh_l0_reverse", {9}}, {"weight_ih_l1", {9, 6}}, {"weight_hh_l1", {9, 3}}, {"bias_ih_l1", {9}},
      {"bias_hh_l1", {9}}, {"weight_ih_l1_reverse", {9, 6}}, {"weight_hh_l1_reverse", {9, 3}},
      {"bias_ih_l1_reverse", {9}}, {"bias_hh_l1_reverse", {9}}};
  auto params = gru.named_parameters();
  ASSERT_EQ(params.size(), want.size());
  const float bound = 1.0f / std::sqrt(3.0f);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(params[i].first, want[i].first);
    EXPECT_EQ(params[i].second.shape(), want[i].second) << want[i].first;
    float lo = 1, hi = -1;
    for (float v : params[i].second.value().to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
    EXPECT_GE(lo, -bound);
    EXPECT_LE(hi, bound);
    EXPECT_LT(lo, 0.0f);  // drawn, not left at zero
  }
  Rng rng2(5);
  LSTM lstm({4, 2, 1, false, 0.0f}, rng2);
  EXPECT_EQ(lstm.named_parameters()[0].second.shape(), (Shape{8, 4}));
  Rng rng3(5);
  RNN rnn({4, 2, 1, false, 0.0f}, rng3);
  EXPECT_EQ(rnn.named_parameters()[1].second.shape(), (Shape{2, 2}));
}

TEST(RnnModule, OutputShapes) {
  Rng rng(2);
  LSTM lstm({3, 4, 3, true, 0.0f}, rng);
  Var x(Tensor::from_vector({2, 5, 3}, random_floats(30)));
  RnnOutput r = lstm.forward(x);
  EXPECT_EQ(r.output.shape(), (Shape{2, 5, 8}));
  EXPECT_EQ(r.h_n.shape(), (Shape{6, 2, 4}));
  EXPECT_EQ(r.c_n.shape(), (Shape{6, 2, 4}));
  GRU gru({3, 4, 1, false, 0.0f}, rng);
  RnnOutput g = gru.forward(x);
  EXPECT_EQ(g.h_n.shape(), (Shape{1, 2, 4}));
  EXPECT_FALSE(g.c_n.defined());
  // The top layer's last forward state is the output at the last step; its reverse state the output at t = 0.
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_EQ(r.h_n.value().at({4, b, j}), r.output.value().at({b, 4, j}));
      EXPECT_EQ(r.h_n.value().at({5, b, j}), r.output.value().at({b, 0, 4 + j}));
    }
  }
}

TEST(RnnModule, DropoutBetweenLayersInTrainingOnly) {
  Rng rng(8);
  LSTM lstm({3, 5, 2, false, 0.5f}, rng);
  Var x(Tensor::from_vector({2, 4, 3}, random_floats(24)));
  lstm.eval();
  std::vector<float> a = lstm.forward(x).output.value().to_vector(), b = lstm.forward(x).output.value().to_vector();
  EXPECT_EQ(a, b);
  lstm.train();
  std::vector<float> c = lstm.forward(x).output.value().to_vector();
  EXPECT_NE(a, c);
  // With one layer there is nothing between layers: training changes nothing.
  Rng rng2(8);
  GRU one({3, 5, 1, false, 0.5f}, rng2);
  std::vector<float> e = one.forward(x).output.value().to_vector();
  one.eval();
  EXPECT_EQ(e, one.forward(x).output.value().to_vector());
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(RnnModule, Errors) {
  Rng rng(1);
  LSTM lstm({128, 64, 2, true, 0.0f}, rng);
  Var x(Tensor::zeros({4, 10, 100}));
  expect_error([&] { lstm.forward(x); }, {"LSTM(input 128, hidden 64)", "[4, 10, 100]"});
  Var good(Tensor::zeros({2, 3, 128}));
  std::vector<int32_t> too_long{3, 4}, zero{3, 0}, negative{-1, 2}, count{3};
  expect_error([&] { lstm.forward(good, too_long); }, {"LSTM(input 128, hidden 64)", "length 4", "[1, 3]"});
  expect_error([&] { lstm.forward(good, zero); }, {"LSTM(input 128, hidden 64)", "length 0"});
  expect_error([&] { lstm.forward(good, negative); }, {"length -1"});
  expect_error([&] { lstm.forward(good, count); }, {"1 lengths", "[2, 3, 128]"});
  expect_error([&] { lstm.forward(good, {}, Var(Tensor::zeros({2, 2, 64}))); }, {"h0", "[2, 2, 64]", "[4, 2, 64]"});
  expect_error([&] { lstm.forward(good, {}, {}, Var(Tensor::zeros({4, 2, 8}))); }, {"c0", "[4, 2, 8]"});
  expect_error([&] { lstm.forward(Var(Tensor::zeros({2, 3}))); }, {"LSTM(input 128, hidden 64)", "[2, 3]"});
  expect_error([&] { GRU({0, 4, 1, false, 0.0f}, rng); }, {"GRU", "positive"});
  expect_error([&] { RNN({3, 4, 1, false, 1.0f}, rng); }, {"RNN", "dropout"});
  // The op checks its own arguments too.
  Var w(Tensor::zeros({8, 3})), u(Tensor::zeros({8, 2})), bias(Tensor::zeros({8}));
  expect_error([&] { autograd::rnn_layer(RnnCell::kLstm, Var(Tensor::zeros({1, 2, 4})), {}, {{w, u, bias, bias}}); },
               {"rnn_layer(LSTM)", "w_ih", "[8, 3]", "[8, 4]"});
  expect_error(
      [&] {
        Var w6(Tensor::zeros({6, 3})), u6(Tensor::zeros({6, 2})), b6(Tensor::zeros({6}));
        autograd::rnn_layer(RnnCell::kGru, Var(Tensor::zeros({1, 2, 3})), {}, {{w6, u6, b6, b6}}, {},
                            Var(Tensor::zeros({1, 1, 2})));
      },
      {"rnn_layer(GRU)", "c0"});
}

}  // namespace
}  // namespace attn::nn
