// attn's SGD, Adam and AdamW, cross-entropy (label smoothing, ignore_index), BCE with logits and MSE against
// PyTorch 1.13 (fixtures from tests/fixtures/tools/gen_optim_fixtures.py): parameters after each step, the final
// optimizer state, losses and input gradients, within relative error 1e-5 (1e-4 for the smoothed
// cross-entropy, whose float log-sum-exp differs from PyTorch's in the last bits).
#include <gtest/gtest.h>

#include <memory>

#include "attn/autograd/ops/arithmetic.h"
#include "attn/autograd/ops/loss.h"
#include "attn/autograd/ops/losses.h"
#include "attn/autograd/ops/reduce.h"
#include "attn/core/error.h"
#include "attn/optim/adam.h"
#include "attn/optim/adamw.h"
#include "attn/optim/sgd.h"
#include "support/fixture.h"

namespace attn::optim {
namespace {

using testing::Fixture;

float config(const Fixture& f, const std::string& key) { return f["config." + key].to_vector().at(0); }

// Values equal up to shape: PyTorch's 0-d tensors are stored as [1].
::testing::AssertionResult same_values(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (got.numel() != want.numel()) {
    return ::testing::AssertionFailure() << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  }
  std::vector<float> w = want.to_vector();
  return testing::all_close(got.to_vector(), std::vector<double>(w.begin(), w.end()), rtol, atol);
}

// Runs the fixture's steps through `opt` (built on params) and compares every parameter after every step, then
// the optimizer's state with PyTorch's (same slot names).
void run_steps(const Fixture& f, Optimizer& opt, std::vector<Var>& params) {
  for (int step = 1; f.has("output." + std::to_string(step) + ".0"); ++step) {
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string g = "grad." + std::to_string(step) + "." + std::to_string(i);
      params[i].zero_grad();
      if (f.has(g)) params[i].node()->grad = f[g].clone();
    }
    opt.step();
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string out = "output." + std::to_string(step) + "." + std::to_string(i);
      EXPECT_TRUE(Fixture::close(params[i].value(), f[out], 1e-5, 1e-6)) << out;
    }
  }
  // Every slot is PyTorch's, by name; PyTorch's SGD keeps no step count (it marks the first step by a missing
  // buffer), Adam's does.
  for (auto& [name, t] : opt.state()) {
    const std::string key = "state." + name;
    const bool is_step = name.ends_with(".step");
    if (is_step && !f.has(key)) continue;
    ASSERT_TRUE(f.has(key)) << "PyTorch has no state tensor " << key;
    EXPECT_TRUE(same_values(t, f[key], 1e-5, 1e-7)) << key;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    for (const std::string& slot : opt.slot_names()) {
      EXPECT_TRUE(f.has("state." + std::to_string(i) + "." + slot)) << "no " << slot << " for parameter " << i;
    }
  }
}

std::vector<Var> initial_params(const Fixture& f) {
  std::vector<Var> params;
  for (int i = 0; f.has("param." + std::to_string(i)); ++i)
    params.emplace_back(f["param." + std::to_string(i)].clone(), true);
  return params;
}

AdamOptions adam_options(const Fixture& f) {
  AdamOptions o;
  o.lr = config(f, "lr");
  o.beta1 = config(f, "beta1");
  o.beta2 = config(f, "beta2");
  o.eps = config(f, "eps");
  o.weight_decay = config(f, "weight_decay");
  o.amsgrad = config(f, "amsgrad") != 0.0f;
  return o;
}

void check_adam(const std::string& file, bool decoupled) {
  Fixture f("optim/" + file);
  std::vector<Var> params = initial_params(f);
  ASSERT_EQ(params.size(), 3u);
  const AdamOptions o = adam_options(f);
  std::unique_ptr<Optimizer> opt;
  if (decoupled) {
    AdamWOptions w;
    static_cast<AdamOptions&>(w) = o;
    opt = std::make_unique<AdamW>(params, w);
  } else {
    opt = std::make_unique<Adam>(params, o);
  }
  run_steps(f, *opt, params);
}

void check_sgd(const std::string& file) {
  Fixture f("optim/" + file);
  std::vector<Var> params = initial_params(f);
  SgdOptions o;
  o.lr = config(f, "lr");
  o.momentum = config(f, "momentum");
  o.dampening = config(f, "dampening");
  o.weight_decay = config(f, "weight_decay");
  o.nesterov = config(f, "nesterov") != 0.0f;
  SGD opt(params, o);
  run_steps(f, opt, params);
}

TEST(OptimParity, AdamOneStep) { check_adam("adam_1step.safetensors", false); }
TEST(OptimParity, AdamWOneStep) { check_adam("adamw_1step.safetensors", true); }
TEST(OptimParity, AdamWeightDecayThreeStepsWithSkippedGradient) { check_adam("adam_wd_3steps.safetensors", false); }
TEST(OptimParity, AdamWThreeStepsWithSkippedGradient) { check_adam("adamw_wd_3steps.safetensors", true); }
TEST(OptimParity, AdamAmsgradThreeSteps) { check_adam("adam_amsgrad_3steps.safetensors", false); }
TEST(OptimParity, SgdNesterovThreeSteps) { check_sgd("sgd_nesterov_3steps.safetensors"); }
TEST(OptimParity, SgdDampeningThreeSteps) { check_sgd("sgd_dampening_3steps.safetensors"); }

// Backward of sum(w * loss) with the fixture's w.
void backward_weighted(const Fixture& f, const Var& loss) {
  Tensor w = f["out_weight.loss"].reshape(loss.shape());
  autograd::sum(loss * Var(w)).backward();
}

void check_cross_entropy(const std::string& file, int32_t ignore_index) {
  Fixture f("optim/" + file);
  Var logits(f["input.logits"].clone(), true);
  std::vector<int32_t> targets = f.ints("input.targets");
  kernels::CrossEntropyOptions o;
  o.ignore_index = ignore_index;
  o.label_smoothing = 0.1f;
  Var loss = autograd::cross_entropy(logits, targets, o);
  EXPECT_TRUE(same_values(loss.value(), f["output.loss"], 1e-5, 1e-6));
  backward_weighted(f, loss);
  EXPECT_TRUE(Fixture::close(logits.grad(), f["grad_input.logits"], 1e-4, 1e-6));
}

TEST(OptimParity, CrossEntropyLabelSmoothingIgnoreIndex) {
  check_cross_entropy("cross_entropy_smoothing.safetensors", -100);
}
TEST(OptimParity, CrossEntropyLabelSmoothingIgnoredClass) {
  check_cross_entropy("cross_entropy_ignore_class.safetensors", 2);
}

TEST(OptimParity, BceWithLogitsPosWeightMean) {
  Fixture f("optim/bce_pos_weight_mean.safetensors");
  Var x(f["input.logits"].clone(), true), y(f["input.targets"].clone(), true);
  autograd::BceOptions o;
  o.pos_weight = f["input.pos_weight"];
  Var loss = autograd::binary_cross_entropy_with_logits(x, y, o);
  EXPECT_TRUE(same_values(loss.value(), f["output.loss"], 1e-5, 1e-6));
  backward_weighted(f, loss);
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.logits"], 1e-5, 1e-6));
  EXPECT_TRUE(Fixture::close(y.grad(), f["grad_input.targets"], 1e-5, 1e-6));
}

TEST(OptimParity, BceWithLogitsNoReduction) {
  Fixture f("optim/bce_none.safetensors");
  Var x(f["input.logits"].clone(), true), y(f["input.targets"].clone());
  autograd::BceOptions o;
  o.reduction = kernels::Reduction::kNone;
  Var loss = autograd::binary_cross_entropy_with_logits(x, y, o);
  EXPECT_TRUE(Fixture::close(loss.value(), f["output.loss"], 1e-5, 1e-6));
  backward_weighted(f, loss);
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.logits"], 1e-5, 1e-6));
}

TEST(OptimParity, MseSum) {
  Fixture f("optim/mse_sum.safetensors");
  Var x(f["input.input"].clone(), true), y(f["input.target"].clone(), true);
  Var loss = autograd::mse_loss(x, y, kernels::Reduction::kSum);
  EXPECT_TRUE(same_values(loss.value(), f["output.loss"], 1e-5, 1e-6));
  backward_weighted(f, loss);
  EXPECT_TRUE(Fixture::close(x.grad(), f["grad_input.input"], 1e-5, 1e-6));
  EXPECT_TRUE(Fixture::close(y.grad(), f["grad_input.target"], 1e-5, 1e-6));
}

}  // namespace
}  // namespace attn::optim
