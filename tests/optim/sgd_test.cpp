// SGD against a double-precision transcription of PyTorch's update, on random shapes (odd sizes, one large enough
// to run on several threads) and every option; and the Optimizer base: skipped parameters, state export/import,
// and its errors.
#include "attn/optim/sgd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attn/optim/adam.h"
#include "optim/test_helpers.h"
#include "support/test_util.h"

namespace attn::optim {
namespace {

using testing::random_floats;
using testing::random_int;
using testing::throws_with;

struct RefSgd {
  SgdOptions o;
  std::vector<double> p, buf;
  void step(const std::vector<float>& grad) {
    const bool first = buf.empty();
    if (o.momentum != 0 && first) buf.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      double d = o.maximize ? -double(grad[i]) : double(grad[i]);
      d += double(o.weight_decay) * p[i];
      if (o.momentum != 0) {
        buf[i] = first ? d : double(o.momentum) * buf[i] + (1.0 - double(o.dampening)) * d;
        d = o.nesterov ? d + double(o.momentum) * buf[i] : buf[i];
      }
      p[i] -= double(o.lr) * d;
    }
  }
};

void set_grad(Var& v, const std::vector<float>& g) { v.node()->grad = Tensor::from_vector(v.shape(), g); }

std::vector<double> as_double(const Tensor& t) {
  std::vector<float> f = t.to_vector();
  return {f.begin(), f.end()};
}

Shape random_shape() {
  switch (random_int(0, 3)) {
    case 0:
      return {random_int(1, 9)};
    case 1:
      return {random_int(1, 7), random_int(1, 13)};
    case 2:
      return {random_int(1, 3), random_int(1, 5), random_int(1, 11)};
    default:
      return {1};
  }
}

TEST(Sgd, MatchesDoubleReferenceForEveryOption) {
  for (int trial = 0; trial < 24; ++trial) {
    SgdOptions o;
    o.lr = float(random_int(1, 50)) / 100.0f;
    o.momentum = (trial % 3 == 0) ? 0.0f : 0.5f + 0.4f * float(random_int(0, 10)) / 10.0f;
    o.nesterov = o.momentum > 0 && trial % 2 == 0;
    o.dampening = o.nesterov || o.momentum == 0 ? 0.0f : 0.25f * float(random_int(0, 3));
    o.weight_decay = (trial % 4 == 1) ? 0.0f : 0.05f;
    o.maximize = trial % 5 == 2;
    std::vector<Shape> shapes{random_shape(), random_shape(), {trial == 0 ? 40001 : 37}};
    std::vector<Var> params;
    std::vector<RefSgd> refs;
    for (const Shape& s : shapes) {
      params.emplace_back(Tensor::from_vector(s, random_floats(shape_numel(s))), true);
      refs.push_back({o, as_double(params.back().value()), {}});
    }
    SGD opt(params, o);
    for (int step = 0; step < 4; ++step) {
      for (size_t i = 0; i < params.size(); ++i) {
        std::vector<float> g = random_floats(params[i].numel());
        set_grad(params[i], g);
        refs[i].step(g);
      }
      opt.step();
      for (size_t i = 0; i < params.size(); ++i) {
        ASSERT_TRUE(testing::all_close(params[i].value().to_vector(), refs[i].p, 1e-5, 1e-6))
            << "trial " << trial << " step " << step << " param " << i << " momentum " << o.momentum << " nesterov "
            << o.nesterov << " dampening " << o.dampening << " maximize " << o.maximize;
      }
    }
  }
}

TEST(Sgd, ParametersWithoutGradientAreSkippedAndKeepNoState) {
  SgdOptions o;
  o.lr = 0.1f;
  o.momentum = 0.9f;
  Var a(Tensor::from_vector({3}, {1, 2, 3}), true), b(Tensor::from_vector({2}, {4, 5}), true);
  SGD opt({a, b}, o);
  set_grad(a, {1, 1, 1});
  opt.step();
  EXPECT_EQ(b.value().to_vector(), (std::vector<float>{4, 5}));
  NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 2u);  // a's step and momentum buffer; nothing for b
  EXPECT_EQ(st[0].first, "0.step");
  EXPECT_EQ(st[1].first, "0.momentum_buffer");
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  opt.step();  // no gradients: nothing moves
  EXPECT_TRUE(testing::all_close(a.value().to_vector(), std::vector<double>{0.9, 1.9, 2.9}));
}

TEST(Sgd, LearningRateCanChangeBetweenSteps) {
  Var a(Tensor::from_vector({2}, {1, 1}), true);
  SGD opt({a});
  opt.set_lr(0.5f);
  EXPECT_EQ(opt.lr(), 0.5f);
  set_grad(a, {1, -2});
  opt.step();
  EXPECT_EQ(a.value().to_vector(), (std::vector<float>{0.5f, 2.0f}));
  EXPECT_TRUE(throws_with([&] { opt.set_lr(-1.0f); }, {"SGD", "learning rate -1"}));
  EXPECT_TRUE(throws_with([&] { opt.set_lr(NAN); }, {"SGD", "learning rate"}));
}

// Two steps, export, import into a fresh optimizer on copies of the parameters: the next steps agree bit for bit.
TEST(Sgd, StateRoundTripResumesExactly) {
  SgdOptions o;
  o.lr = 0.05f;
  o.momentum = 0.8f;
  o.dampening = 0.1f;
  std::vector<std::pair<std::string, Var>> named{
      {"enc.weight", Var(Tensor::from_vector({4, 3}, random_floats(12)), true)},
      {"enc.bias", Var(Tensor::from_vector({3}, random_floats(3)), true)}};
  SGD a(named, o);
  for (int step = 0; step < 2; ++step) {
    for (auto& [n, v] : named) set_grad(v, random_floats(v.numel()));
    a.step();
  }
  std::vector<std::pair<std::string, Var>> copy;
  for (auto& [n, v] : named) copy.emplace_back(n, Var(v.value().clone(), true));
  SGD b(copy, o);
  NamedTensors st = a.state();
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(st[0].first, "enc.weight.step");
  EXPECT_EQ(st[0].second.to_vector(), std::vector<float>{2.0f});
  EXPECT_EQ(st[1].first, "enc.weight.momentum_buffer");
  b.load_state(st);
  for (int step = 0; step < 2; ++step) {
    for (size_t i = 0; i < named.size(); ++i) {
      std::vector<float> g = random_floats(named[i].second.numel());
      set_grad(named[i].second, g);
      set_grad(copy[i].second, g);
    }
    a.step();
    b.step();
    for (size_t i = 0; i < named.size(); ++i) {
      EXPECT_EQ(named[i].second.value().to_vector(), copy[i].second.value().to_vector());
    }
  }
}

TEST(Sgd, LoadStateRejectsMismatchesAndKeepsOldState) {
  SgdOptions o;
  o.momentum = 0.9f;
  Var w(Tensor::from_vector({2, 2}, {1, 2, 3, 4}), true);
  SGD opt({w}, o);
  set_grad(w, {1, 1, 1, 1});
  opt.step();
  const NamedTensors good = opt.state();
  auto with = [&](const std::string& name, Tensor t) {
    NamedTensors s = good;
    for (auto& [n, v] : s) {
      if (n == name) v = t;
    }
    return s;
  };
  EXPECT_TRUE(throws_with(
      [&] {
        opt.load_state({{"0.exp_avg", Tensor::zeros({2, 2})}});
      },
      {"SGD", "unknown tensor '0.exp_avg'", "step, momentum_buffer"}));
  EXPECT_TRUE(throws_with([&] { opt.load_state(with("0.momentum_buffer", Tensor::zeros({4}))); },
                          {"SGD", "'0.momentum_buffer' has shape [4]", "shape [2, 2]"}));
  EXPECT_TRUE(throws_with([&] { opt.load_state(with("0.step", Tensor::full({}, 1.5f))); }, {"'0.step' = 1.5"}));
  EXPECT_TRUE(throws_with([&] { opt.load_state(with("0.step", Tensor::full({}, 0.0f))); }, {"'0.step' = 0"}));
  EXPECT_TRUE(throws_with([&] { opt.load_state({good[0]}); }, {"has 0.step but no 0.momentum_buffer"}));
  EXPECT_TRUE(throws_with([&] { opt.load_state({good[1]}); }, {"has 0.momentum_buffer but no 0.step"}));
  EXPECT_TRUE(throws_with([&] { opt.load_state({good[0], good[1], good[1]}); }, {"appears twice"}));
  // Adam's state into SGD names slots SGD does not have.
  Adam adam({w});
  adam.step();
  EXPECT_TRUE(throws_with([&] { opt.load_state(adam.state()); }, {"SGD", "unknown tensor '0.exp_avg'"}));
  // The failed loads left the state as it was.
  const NamedTensors after = opt.state();
  ASSERT_EQ(after.size(), good.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].second.to_vector(), good[i].second.to_vector());
  // An empty state resets: the next step starts the momentum buffer afresh.
  opt.load_state({});
  EXPECT_TRUE(opt.state().empty());
}

TEST(Sgd, RejectsBadOptionsAndParameters) {
  Var w(Tensor::zeros({3}), true);
  SgdOptions o;
  o.nesterov = true;
  EXPECT_TRUE(throws_with([&] { SGD(std::vector<Var>{w}, o); }, {"SGD", "Nesterov", "momentum 0"}));
  o = {};
  o.momentum = -0.5f;
  EXPECT_TRUE(throws_with([&] { SGD(std::vector<Var>{w}, o); }, {"SGD: momentum -0.5"}));
  EXPECT_TRUE(throws_with([&] { SGD(std::vector<Var>{}); }, {"SGD: got an empty parameter list"}));
  EXPECT_TRUE(throws_with([&] { SGD({w, w}); }, {"parameter '1' is the same Var as '0'"}));
  std::vector<std::pair<std::string, Var>> dup{{"a", w}, {"a", Var(Tensor::zeros({1}), true)}};
  EXPECT_TRUE(throws_with([&] { SGD{dup}; }, {"two parameters are named 'a'"}));
  SGD opt({w});
  w.node()->grad = Tensor::zeros({4});
  EXPECT_TRUE(throws_with([&] { opt.step(); }, {"SGD", "parameter '0' of shape [3] has a gradient of shape [4]"}));
  Var t(Tensor::zeros({3, 2}).transpose(0, 1), true);
  SGD opt2({t});
  t.node()->grad = Tensor::zeros({2, 3});
  EXPECT_TRUE(throws_with([&] { opt2.step(); }, {"not contiguous"}));
}

}  // namespace
}  // namespace attn::optim
