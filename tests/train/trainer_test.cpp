// The Trainer on a small softmax-regression task: it learns, keeps the best epoch, stops early, and a run
// interrupted by SIGINT and resumed from its checkpoint ends with exactly the parameters of an uninterrupted run
// (with dropout too).
#include "attn/train/trainer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "attn/autograd/ops/loss.h"
#include "attn/io/safetensors.h"
#include "attn/nn/dropout.h"
#include "attn/nn/linear.h"
#include "attn/optim/adam.h"
#include "attn/train/interrupt.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::train {
namespace {

using autograd::Var;
using testing::expect_error;

constexpr int64_t kFeatures = 5, kClasses = 3, kExamples = 96, kBatch = 8;

// A linear map with dropout on its input (none by default), whose random stream a resumed run must continue.
class ToyNet : public nn::Linear {
 public:
  ToyNet(Rng& rng, float dropout)
      : nn::Linear(kFeatures, kClasses, rng),
        dropout_(register_module("dropout", std::make_shared<nn::Dropout>(dropout, rng))) {}
  Var forward(const Var& x) { return nn::Linear::forward(dropout_->forward(x)); }

 private:
  std::shared_ptr<nn::Dropout> dropout_;
};

// Points whose class is the arg-max of a fixed linear map (learnable to ~100%), with a scripted validation score
// when one is given (to test best-keeping and early stopping).
class ToyTask : public TrainTask {
 public:
  explicit ToyTask(uint64_t seed, float dropout = 0) : rng_(seed), linear_(std::make_shared<ToyNet>(rng_, dropout)) {
    Rng data(1000);  // the same points whatever the initialisation
    x_.resize(size_t(kExamples * kFeatures));
    for (auto& v : x_) v = data.uniform(-1, 1);
    for (int64_t i = 0; i < kExamples; ++i) {
      const float* p = &x_[size_t(i * kFeatures)];
      float s[kClasses] = {p[0] - p[1], p[2] + p[3], p[4] - p[0]};
      y_.push_back(int32_t(std::max_element(s, s + kClasses) - s));
    }
  }
  nn::Module& model() override { return *linear_; }
  std::string fingerprint() const override { return "toy"; }
  std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) override {
    std::vector<size_t> order(kExamples);
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    Rng shuffle(uint64_t(epoch) + 7);
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle.uniform_int(i + 1)]);
    std::vector<std::vector<size_t>> batches;
    for (size_t i = 0; i < order.size(); i += kBatch) batches.emplace_back(order.begin() + int64_t(i), order.begin() + int64_t(i + kBatch));
    return batches;
  }
  StepStats train_step(const std::vector<size_t>& batch) override {
    ++steps_seen;
    if (interrupt_at_step > 0 && steps_seen == interrupt_at_step) std::raise(SIGINT);
    Tensor xb = Tensor::empty({int64_t(batch.size()), kFeatures});
    std::vector<int32_t> yb;
    for (size_t r = 0; r < batch.size(); ++r) {
      std::copy_n(&x_[batch[r] * kFeatures], kFeatures, xb.data() + int64_t(r) * kFeatures);
      yb.push_back(y_[batch[r]]);
    }
    Var loss = autograd::cross_entropy(linear_->forward(Var(xb)), yb);
    loss.backward();
    return {double(loss.value().data()[0]) * double(batch.size()), int64_t(batch.size()), 0, -1};
  }
  Validation validate() override {
    ++validations;
    double score = scripted.empty() ? accuracy() : scripted[size_t(validations - 1) % scripted.size()];
    if (!scripted.empty()) weights_at_validation.push_back(linear_->weight.value().clone());
    return {score, {{"score", score}}};
  }
  double accuracy() {
    autograd::NoGradGuard no_grad;
    Tensor x = Tensor::empty({kExamples, kFeatures});
    std::copy(x_.begin(), x_.end(), x.data());
    Tensor logits = linear_->forward(Var(x)).value();
    int correct = 0;
    for (int64_t i = 0; i < kExamples; ++i) {
      const float* l = logits.data() + i * kClasses;
      correct += int32_t(std::max_element(l, l + kClasses) - l) == y_[size_t(i)];
    }
    return double(correct) / kExamples;
  }

  int64_t steps_seen = 0, interrupt_at_step = 0, validations = 0;
  std::vector<double> scripted;
  std::vector<Tensor> weights_at_validation;

 private:
  Rng rng_;
  std::shared_ptr<ToyNet> linear_;
  std::vector<float> x_;
  std::vector<int32_t> y_;
};

TrainerOptions quiet_options(int64_t epochs) {
  TrainerOptions o;
  o.epochs = epochs;
  o.patience = 0;
  o.progress = false;
  o.schedule.lr = 0.05f;
  return o;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data(), t.data() + t.numel()); }

TEST(Trainer, LearnsAndCountsSteps) {
  ToyTask task(1);
  const double before = task.accuracy();
  optim::Adam adam(task.model().named_parameters());
  TrainResult r = train(task, adam, quiet_options(8));
  EXPECT_EQ(r.epochs_done, 8);
  EXPECT_EQ(r.steps, 8 * kExamples / kBatch);
  EXPECT_FALSE(r.interrupted);
  EXPECT_GE(task.accuracy(), 0.9) << "accuracy before training " << before;
  EXPECT_EQ(r.history.size(), 8u);
}

// An optimizer whose update takes a known time, to see it counted as step time.
class SlowSgd : public optim::Optimizer {
 public:
  explicit SlowSgd(optim::ParamList params) : Optimizer("slow-sgd", std::move(params), 0.05f, {}) {}
  static constexpr double kUpdateSeconds = 0.001;

 private:
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>&, int64_t) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(kUpdateSeconds));
    for (int64_t i = 0; i < param.numel(); ++i) param.data()[i] -= lr() * grad.data()[i];
  }
};

// Validation that takes a known time, which throughput must not count.
class SlowValidationTask : public ToyTask {
 public:
  using ToyTask::ToyTask;
  static constexpr double kValidationSeconds = 0.03;
  Validation validate() override {
    std::this_thread::sleep_for(std::chrono::duration<double>(kValidationSeconds));
    return ToyTask::validate();
  }
};

TEST(Trainer, StepTimeCountsUpdatesButNotValidation) {
  SlowValidationTask task(1);
  SlowSgd sgd(task.model().named_parameters());
  const int64_t epochs = 2;
  TrainResult r = train(task, sgd, quiet_options(epochs));
  const double updates = double(r.steps) * double(task.model().named_parameters().size());
  EXPECT_GE(r.step_seconds, updates * SlowSgd::kUpdateSeconds);
  EXPECT_LE(r.step_seconds, r.seconds - double(epochs) * SlowValidationTask::kValidationSeconds);
}

TEST(Trainer, KeepsTheBestEpochAndStopsEarly) {
  ToyTask task(2);
  task.scripted = {0.5, 0.9, 0.7, 0.6, 0.8, 0.95};  // best at epoch 2, then 2 worse ones with patience 2
  optim::Adam adam(task.model().named_parameters());
  TrainerOptions o = quiet_options(6);
  o.patience = 2;
  TrainResult r = train(task, adam, o);
  EXPECT_TRUE(r.early_stopped);
  EXPECT_EQ(r.epochs_done, 4);
  EXPECT_EQ(r.best_epoch, 2);
  EXPECT_DOUBLE_EQ(r.best_score, 0.9);
  const auto& linear = static_cast<nn::Linear&>(task.model());
  EXPECT_EQ(values(linear.weight.value()), values(task.weights_at_validation[1]));  // epoch 2's parameters
}

class TrainerResume : public ::testing::TestWithParam<float> {};

TEST_P(TrainerResume, ResumesAnInterruptedRunExactly) {
  testing::TempDir dir;
  const std::string ckpt = dir.file("run.checkpoint");
  const float dropout = GetParam();  // with dropout, the masks after the resume must be the same too

  ToyTask reference(3, dropout);
  optim::Adam adam_ref(reference.model().named_parameters());
  TrainerOptions o = quiet_options(4);
  o.schedule.kind = optim::ScheduleKind::kLinear;
  o.schedule.warmup_steps = 5;
  train(reference, adam_ref, o);

  ToyTask first(3, dropout);
  first.interrupt_at_step = 19;  // inside epoch 2 (12 batches per epoch); step 19 still completes
  optim::Adam adam1(first.model().named_parameters());
  o.checkpoint_path = ckpt;
  TrainResult r1 = train(first, adam1, o);
  ASSERT_TRUE(r1.interrupted);
  ASSERT_TRUE(std::filesystem::exists(ckpt));

  ToyTask second(99, dropout);  // other initial weights and random streams: all must come from the checkpoint
  optim::Adam adam2(second.model().named_parameters());
  o.resume = true;
  TrainResult r2 = train(second, adam2, o);
  EXPECT_FALSE(r2.interrupted);
  EXPECT_EQ(r2.steps, 4 * kExamples / kBatch);
  EXPECT_EQ(second.steps_seen, 4 * kExamples / kBatch - 19);
  const auto& a = static_cast<nn::Linear&>(reference.model());
  const auto& b = static_cast<nn::Linear&>(second.model());
  EXPECT_EQ(values(a.weight.value()), values(b.weight.value()));
  EXPECT_EQ(values(a.bias.value()), values(b.bias.value()));
}

INSTANTIATE_TEST_SUITE_P(Trainer, TrainerResume, ::testing::Values(0.0f, 0.3f));

// Steps that take a known time, for the time budget.
class SlowStepTask : public SlowValidationTask {
 public:
  using SlowValidationTask::SlowValidationTask;
  static constexpr double kStepSeconds = 0.01;
  StepStats train_step(const std::vector<size_t>& batch) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(kStepSeconds));
    return ToyTask::train_step(batch);
  }
};

TEST(Trainer, StopsWithinTheTimeBudgetAndResumesWhereItStopped) {
  testing::TempDir dir;
  const int64_t epochs = 3, steps = epochs * kExamples / kBatch;
  std::vector<double> rising(20);
  for (size_t i = 0; i < rising.size(); ++i) rising[i] = double(i);  // the last validation is always the best

  SlowStepTask reference(4);
  reference.scripted = rising;
  optim::Adam adam_ref(reference.model().named_parameters());
  TrainerOptions o = quiet_options(epochs);
  train(reference, adam_ref, o);

  // Budget: about one and a half epochs (12 steps each) with the validation after epoch 1.
  SlowStepTask first(4);
  first.scripted = rising;
  optim::Adam adam1(first.model().named_parameters());
  o.checkpoint_path = dir.file("run.checkpoint");
  o.max_seconds = 18 * SlowStepTask::kStepSeconds + SlowValidationTask::kValidationSeconds;
  TrainResult r1 = train(first, adam1, o);
  ASSERT_TRUE(r1.out_of_time);
  EXPECT_LT(r1.steps, steps);
  EXPECT_GE(r1.steps, 1);
  EXPECT_EQ(first.validations, int64_t(r1.history.size()));
  EXPECT_LE(r1.seconds, o.max_seconds + 0.5);  // one step and a validation of slack, and a loaded machine

  SlowStepTask second(99);
  for (double& score : rising) score += 100;  // above the best the checkpoint brings
  second.scripted = rising;
  optim::Adam adam2(second.model().named_parameters());
  o.max_seconds = 0;
  o.resume = true;
  TrainResult r2 = train(second, adam2, o);
  EXPECT_FALSE(r2.out_of_time);
  EXPECT_EQ(r2.steps, steps);
  EXPECT_EQ(second.steps_seen, steps - r1.steps);
  const auto& a = static_cast<nn::Linear&>(reference.model());
  const auto& b = static_cast<nn::Linear&>(second.model());
  EXPECT_EQ(values(a.weight.value()), values(b.weight.value()));
}

// An optimizer that sets every parameter to the number of updates so far, so that the moving average has a known
// value.
class CountingOptimizer : public optim::Optimizer {
 public:
  explicit CountingOptimizer(optim::ParamList params) : Optimizer("counting", std::move(params), 0.1f, {}) {}

 private:
  void update(Tensor& param, const Tensor&, std::vector<Tensor>&, int64_t step) override { param.fill(float(step)); }
};

TEST(Trainer, ValidatesAndKeepsTheMovingAverage) {
  ToyTask task(6);
  task.scripted = {1.0};  // records the weights each validation sees
  const Tensor initial = static_cast<nn::Linear&>(task.model()).weight.value().clone();
  CountingOptimizer counting(task.model().named_parameters());
  TrainerOptions o = quiet_options(2);
  o.ema_decay = 0.75f;
  train(task, counting, o);
  ASSERT_EQ(task.weights_at_validation.size(), 2u);
  const int64_t steps_per_epoch = kExamples / kBatch;
  for (int64_t epoch = 1; epoch <= 2; ++epoch) {
    const Tensor& seen = task.weights_at_validation[size_t(epoch - 1)];
    for (int64_t i = 0; i < seen.numel(); ++i) {
      double ema = initial.data()[i];
      for (int64_t t = 1; t <= epoch * steps_per_epoch; ++t) {
        const double d = std::min(0.75, double(1 + t) / double(10 + t));
        ema = d * ema + (1 - d) * double(t);
      }
      EXPECT_NEAR(seen.data()[i], ema, 1e-4 * std::max(1.0, std::fabs(ema))) << "epoch " << epoch << " element " << i;
    }
  }
  // The first validation scored as high as the second, so the model ends with the first epoch's average.
  EXPECT_EQ(values(static_cast<nn::Linear&>(task.model()).weight.value()), values(task.weights_at_validation[0]));
}

TEST(Trainer, ResumesTheMovingAverageExactly) {
  testing::TempDir dir;
  TrainerOptions o = quiet_options(3);
  o.ema_decay = 0.9f;
  ToyTask reference(7);
  optim::Adam adam_ref(reference.model().named_parameters());
  train(reference, adam_ref, o);

  ToyTask first(7);
  first.interrupt_at_step = 17;
  optim::Adam adam1(first.model().named_parameters());
  o.checkpoint_path = dir.file("run.checkpoint");
  ASSERT_TRUE(train(first, adam1, o).interrupted);
  ToyTask second(99);
  optim::Adam adam2(second.model().named_parameters());
  o.resume = true;
  train(second, adam2, o);
  const auto& a = static_cast<nn::Linear&>(reference.model());
  const auto& b = static_cast<nn::Linear&>(second.model());
  EXPECT_EQ(values(a.weight.value()), values(b.weight.value()));
  EXPECT_EQ(values(a.bias.value()), values(b.bias.value()));

  o.ema_decay = 0;  // a checkpoint without the average cannot continue a run that keeps one, and vice versa
  ToyTask plain(7);
  optim::Adam adam3(plain.model().named_parameters());
  o.resume = false;
  train(plain, adam3, o);
  o.resume = true;
  o.ema_decay = 0.9f;
  expect_error([&] { train(plain, adam3, o); }, {"lacks moving-average parameter 'weight'"});
}

TEST(Trainer, RefusesANegativeTimeBudgetOrAnAverageThatNeverMoves) {
  ToyTask task(1);
  optim::Adam adam(task.model().named_parameters());
  TrainerOptions o = quiet_options(1);
  o.max_seconds = -1;
  expect_error([&] { train(task, adam, o); }, {"time budget must be >= 0"});
  o.max_seconds = 0;
  o.ema_decay = 1;
  expect_error([&] { train(task, adam, o); }, {"decay must lie in [0, 1)"});
}

TEST(Trainer, RefusesAForeignOrCorruptCheckpoint) {
  testing::TempDir dir;
  ToyTask task(4);
  optim::Adam adam(task.model().named_parameters());
  TrainerOptions o = quiet_options(1);
  o.checkpoint_path = dir.file("c");
  o.resume = true;
  expect_error([&] { train(task, adam, o); }, {"c"});  // missing
  io::save_safetensors(o.checkpoint_path, {{"x", Tensor::zeros({2})}});
  expect_error([&] { train(task, adam, o); }, {"not an attn training checkpoint"});
  io::save_safetensors(o.checkpoint_path, {{"model.weight", Tensor::zeros({2})}},
                       {{"attn.checkpoint", to_json(CheckpointState{0, 0, 0, 0, 0, 0, "other", {}}).dump()}});
  expect_error([&] { train(task, adam, o); }, {"other data or settings"});
  io::save_safetensors(o.checkpoint_path, {{"model.weight", Tensor::zeros({2})}},
                       {{"attn.checkpoint", to_json(CheckpointState{0, 0, 0, 0, 0, 0, "toy", {}}).dump()}});
  expect_error([&] { train(task, adam, o); }, {"model parameter 'weight' has shape [2]"});
  io::save_safetensors(o.checkpoint_path, {}, {{"attn.checkpoint", "{\"epoch\": -1}"}});
  expect_error([&] { train(task, adam, o); }, {"corrupt checkpoint state"});
}

TEST(Trainer, StopsOnANonFiniteLoss) {
  ToyTask task(5);
  optim::Adam adam(task.model().named_parameters());
  static_cast<nn::Linear&>(task.model()).weight.value().data()[0] = std::nanf("");
  expect_error([&] { train(task, adam, quiet_options(1)); }, {"loss became nan", "epoch 1 step 1"});
}

}  // namespace
}  // namespace attn::train
