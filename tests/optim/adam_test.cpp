// Adam and AdamW against a double-precision transcription of PyTorch's update (bias correction, L2 or decoupled
// weight decay, AMSGrad, maximize) on random shapes; per-parameter step counts when a parameter misses a
// gradient; state round trip; option errors; and a small regression that Adam must actually fit.
#include "attn/optim/adam.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/ops/losses.h"
#include "attn/autograd/ops/matmul.h"
#include "attn/io/safetensors.h"
#include "attn/optim/adamw.h"
#include "optim/test_helpers.h"
#include "support/test_util.h"

namespace attn::optim {
namespace {

using testing::random_floats;
using testing::random_int;
using testing::throws_with;

struct RefAdam {
  AdamOptions o;
  bool decoupled = false;
  std::vector<double> p, m, v, vmax;
  int64_t step = 0;
  void update(const std::vector<float>& grad) {
    if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0), vmax.assign(p.size(), 0.0);
    ++step;
    const double lr = o.lr, b1 = o.beta1, b2 = o.beta2, wd = o.weight_decay;
    const double bc1 = 1 - std::pow(b1, double(step)), bc2 = 1 - std::pow(b2, double(step));
    for (size_t i = 0; i < p.size(); ++i) {
      double g = o.maximize ? -double(grad[i]) : double(grad[i]);
      if (decoupled) {
        p[i] *= 1 - lr * wd;
      } else {
        g += wd * p[i];
      }
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double denom = std::sqrt(o.amsgrad ? vmax[i] : v[i]) / std::sqrt(bc2) + double(o.eps);
      p[i] -= lr / bc1 * m[i] / denom;
    }
  }
};

void set_grad(Var& v, const std::vector<float>& g) { v.node()->grad = Tensor::from_vector(v.shape(), g); }

std::vector<double> as_double(const Tensor& t) {
  std::vector<float> f = t.to_vector();
  return {f.begin(), f.end()};
}

std::unique_ptr<Optimizer> make(bool decoupled, std::vector<Var> params, const AdamOptions& o) {
  if (!decoupled) return std::make_unique<Adam>(std::move(params), o);
  AdamWOptions w;
  static_cast<AdamOptions&>(w) = o;
  return std::make_unique<AdamW>(std::move(params), w);
}

TEST(Adam, MatchesDoubleReferenceForEveryOption) {
  for (int trial = 0; trial < 32; ++trial) {
    AdamOptions o;
    o.lr = float(random_int(1, 30)) / 1000.0f;
    o.beta1 = trial % 4 == 3 ? 0.0f : 0.9f;
    o.beta2 = trial % 3 == 0 ? 0.99f : 0.999f;
    o.eps = trial % 2 ? 1e-8f : 1e-3f;
    o.weight_decay = trial % 5 == 0 ? 0.0f : 0.1f;
    o.amsgrad = trial % 4 < 2;
    o.maximize = trial % 7 == 1;
    const bool decoupled = trial % 2 == 1;
    std::vector<Shape> shapes{{random_int(1, 40)}, {random_int(1, 5), random_int(1, 9)}, {trial == 0 ? 33333 : 17}};
    std::vector<Var> params;
    std::vector<RefAdam> refs;
    for (const Shape& s : shapes) {
      params.emplace_back(Tensor::from_vector(s, random_floats(shape_numel(s))), true);
      refs.push_back({o, decoupled, as_double(params.back().value()), {}, {}, {}, 0});
    }
    auto opt = make(decoupled, params, o);
    for (int step = 0; step < 5; ++step) {
      for (size_t i = 0; i < params.size(); ++i) {
        // Gradients shrink over the steps so the AMSGrad maximum differs from the current estimate.
        std::vector<float> g = random_floats(params[i].numel(), -1.0f / float(step + 1), 1.0f / float(step + 1));
        set_grad(params[i], g);
        refs[i].update(g);
      }
      opt->step();
      for (size_t i = 0; i < params.size(); ++i) {
        ASSERT_TRUE(testing::all_close(params[i].value().to_vector(), refs[i].p, 1e-5, 1e-6))
            << opt->name() << " trial " << trial << " step " << step << " param " << i << " amsgrad " << o.amsgrad
            << " maximize " << o.maximize << " wd " << o.weight_decay;
      }
    }
    // The exported moments are the reference's.
    for (auto& [name, t] : opt->state()) {
      const size_t i = size_t(std::stoi(name.substr(0, name.find('.'))));
      const std::string slot = name.substr(name.find('.') + 1);
      if (slot == "step") {
        EXPECT_EQ(t.to_vector(), std::vector<float>{5.0f});
      } else {
        const std::vector<double>& want = slot == "exp_avg"      ? refs[i].m
                                          : slot == "exp_avg_sq" ? refs[i].v
                                                                 : refs[i].vmax;
        EXPECT_TRUE(testing::all_close(t.to_vector(), want, 1e-5, 1e-7)) << name;  // m: a float sum of +-g
      }
    }
  }
}

// A parameter that misses a gradient keeps its own step count, so its bias correction lags the others'.
TEST(Adam, SkippedParameterKeepsItsOwnStepCount) {
  AdamOptions o;
  o.lr = 0.01f;
  Var a(Tensor::from_vector({4}, random_floats(4)), true), b(Tensor::from_vector({3}, random_floats(3)), true);
  RefAdam ra{o, false, as_double(a.value()), {}, {}, {}, 0}, rb{o, false, as_double(b.value()), {}, {}, {}, 0};
  Adam opt({a, b}, o);
  for (int step = 0; step < 3; ++step) {
    std::vector<float> ga = random_floats(4), gb = random_floats(3);
    set_grad(a, ga);
    ra.update(ga);
    if (step == 1) {
      b.zero_grad();
    } else {
      set_grad(b, gb);
      rb.update(gb);
    }
    opt.step();
  }
  EXPECT_TRUE(testing::all_close(a.value().to_vector(), ra.p, 1e-5, 1e-6));
  EXPECT_TRUE(testing::all_close(b.value().to_vector(), rb.p, 1e-5, 1e-6));
  NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 6u);
  EXPECT_EQ(st[0].first, "0.step");
  EXPECT_EQ(st[0].second.to_vector(), std::vector<float>{3.0f});
  EXPECT_EQ(st[3].first, "1.step");
  EXPECT_EQ(st[3].second.to_vector(), std::vector<float>{2.0f});
}

TEST(Adam, StateRoundTripResumesExactly) {
  for (bool decoupled : {false, true}) {
    AdamOptions o;
    o.amsgrad = true;
    o.weight_decay = 0.05f;
    std::vector<Var> a{Var(Tensor::from_vector({5, 3}, random_floats(15)), true),
                       Var(Tensor::from_vector({7}, random_floats(7)), true)};
    auto opt_a = make(decoupled, a, o);
    for (int step = 0; step < 3; ++step) {
      for (Var& v : a) set_grad(v, random_floats(v.numel()));
      opt_a->step();
    }
    std::vector<Var> b;
    for (Var& v : a) b.emplace_back(v.value().clone(), true);
    auto opt_b = make(decoupled, b, o);
    NamedTensors st = opt_a->state();
    ASSERT_EQ(st.size(), 8u);
    EXPECT_EQ(st[3].first, "0.max_exp_avg_sq");
    // Through the checkpoint format: safetensors bytes and back.
    opt_b->load_state(io::parse_safetensors(io::safetensors_bytes(st)).tensors);
    for (int step = 0; step < 2; ++step) {
      for (size_t i = 0; i < a.size(); ++i) {
        std::vector<float> g = random_floats(a[i].numel());
        set_grad(a[i], g);
        set_grad(b[i], g);
      }
      opt_a->step();
      opt_b->step();
      for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].value().to_vector(), b[i].value().to_vector());
    }
    // The loaded tensors were copied: changing the exported ones later does not reach opt_b.
    st[1].second.fill(123.0f);
    for (auto& [n, t] : opt_b->state()) EXPECT_NE(t.to_vector()[0], 123.0f) << n;
  }
}

TEST(Adam, AdamWDefaultsAndDecoupledDecay) {
  AdamWOptions w;
  EXPECT_EQ(w.weight_decay, 1e-2f);
  // With a zero gradient Adam's moments stay 0 and only the decoupled decay moves the parameter.
  w.lr = 0.1f;
  w.weight_decay = 0.5f;
  Var p(Tensor::from_vector({2}, {2.0f, -4.0f}), true);
  AdamW opt({p}, w);
  EXPECT_STREQ(opt.name(), "AdamW");
  set_grad(p, {0.0f, 0.0f});
  opt.step();
  EXPECT_TRUE(testing::all_close(p.value().to_vector(), std::vector<double>{2.0 * 0.95, -4.0 * 0.95}));
}

TEST(Adam, RejectsBadOptions) {
  Var w(Tensor::zeros({3}), true);
  AdamOptions o;
  o.beta1 = 1.0f;
  EXPECT_TRUE(throws_with([&] { Adam({w}, o); }, {"Adam: beta1 1 must be in [0, 1)"}));
  o = {};
  o.beta2 = -0.1f;
  EXPECT_TRUE(throws_with([&] { Adam({w}, o); }, {"Adam: beta2 -0.1"}));
  o = {};
  o.eps = -1e-8f;
  EXPECT_TRUE(throws_with([&] { Adam({w}, o); }, {"Adam: eps"}));
  AdamWOptions ow;
  ow.weight_decay = -1.0f;
  EXPECT_TRUE(throws_with([&] { AdamW({w}, ow); }, {"AdamW: weight_decay -1"}));
  ow = {};
  ow.lr = INFINITY;
  EXPECT_TRUE(throws_with([&] { AdamW({w}, ow); }, {"AdamW: learning rate inf"}));
}

// y = x W^T fitted by Adam on the MSE: the loss must fall by orders of magnitude.
TEST(Adam, FitsALinearRegression) {
  const int64_t n = 64, in = 5, out = 3;
  Tensor x = Tensor::from_vector({n, in}, random_floats(n * in));
  Tensor w_true = Tensor::from_vector({out, in}, random_floats(out * in, -2.0f, 2.0f));
  Tensor y;
  {
    autograd::NoGradGuard g;
    y = autograd::linear(Var(x), Var(w_true), Var()).value();
  }
  Var w(Tensor::zeros({out, in}), true);
  AdamOptions o;
  o.lr = 0.05f;
  Adam opt({w}, o);
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    Var loss = autograd::mse_loss(autograd::linear(Var(x), w, Var()), Var(y));
    if (step == 0) first = loss.value().data()[0];
    last = loss.value().data()[0];
    loss.backward();
    opt.step();
  }
  EXPECT_LT(last, first * 1e-4f) << "first " << first << " last " << last;
}

}  // namespace
}  // namespace attn::optim
