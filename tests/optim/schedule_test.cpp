// Learning-rate schedules, checked by the properties that define them on random configurations: the warm-up is
// linear and ends at the peak, linear decay halves at its midpoint and ends on the floor, the cosine is symmetric
// about its midpoint, the inverse square roots quarter-step to half, Noam and fairseq's forms coincide after the
// warm-up when their peaks agree; and the config checks.
#include "attn/optim/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_helpers.h"
#include "support/test_util.h"

namespace attn::optim {
namespace {

using testing::random_int;
using testing::throws_with;

ScheduleConfig random_config(ScheduleKind kind) {
  ScheduleConfig c;
  c.kind = kind;
  c.lr = float(random_int(1, 100)) * 1e-4f;
  c.warmup_steps = 2 * random_int(1, 50);  // even, so warmup / 2 is a step
  c.total_steps = c.warmup_steps + 2 * random_int(1, 500);
  c.min_lr = random_int(0, 1) ? 0.0f : c.lr * 0.1f;
  c.warmup_init_lr = random_int(0, 1) ? 0.0f : c.lr * 0.01f;
  c.d_model = random_int(1, 1024);
  return c;
}

constexpr double kRel = 1e-6;

void expect_linear_warmup(const Schedule& s) {
  const ScheduleConfig& c = s.config();
  const double lr = c.lr;
  EXPECT_EQ(s.lr_at(0), 0.0f);
  EXPECT_NEAR(s.lr_at(c.warmup_steps / 2), lr / 2, kRel * lr);
  EXPECT_NEAR(s.lr_at(1), lr / double(c.warmup_steps), kRel * lr);
  EXPECT_NEAR(s.lr_at(c.warmup_steps), lr, kRel * lr);
  for (int64_t t = 1; t < c.warmup_steps; ++t) EXPECT_LT(s.lr_at(t - 1), s.lr_at(t));
}

TEST(Schedule, ConstantWithAndWithoutWarmup) {
  for (int trial = 0; trial < 10; ++trial) {
    Schedule s(random_config(ScheduleKind::kConstant));
    expect_linear_warmup(s);
    for (int64_t t : {s.config().warmup_steps, s.config().warmup_steps + 1, int64_t{1} << 40}) {
      EXPECT_EQ(s.lr_at(t), s.config().lr);
    }
  }
  ScheduleConfig c;
  c.lr = 0.25f;
  Schedule plain(c);
  EXPECT_EQ(plain.lr_at(0), 0.25f);
  EXPECT_EQ(plain.lr_at(7), 0.25f);
}

TEST(Schedule, LinearDecayReachesTheFloorAtTotalSteps) {
  for (int trial = 0; trial < 20; ++trial) {
    Schedule s(random_config(ScheduleKind::kLinear));
    const ScheduleConfig& c = s.config();
    const double lr = c.lr, floor = c.min_lr;
    expect_linear_warmup(s);
    const int64_t mid = (c.warmup_steps + c.total_steps) / 2;
    EXPECT_NEAR(s.lr_at(mid), (lr + floor) / 2, kRel * lr);
    EXPECT_NEAR(s.lr_at(c.total_steps), floor, kRel * lr);
    EXPECT_NEAR(s.lr_at(c.total_steps + 1000), floor, kRel * lr);
    // Equal steps down: the decay is linear.
    const int64_t q = (c.total_steps - c.warmup_steps) / 4;
    EXPECT_NEAR(s.lr_at(c.warmup_steps) - s.lr_at(c.warmup_steps + q), s.lr_at(mid) - s.lr_at(mid + q), kRel * lr);
    for (int64_t t = c.warmup_steps + 1; t <= c.total_steps; ++t) EXPECT_LE(s.lr_at(t), s.lr_at(t - 1));
  }
}

TEST(Schedule, CosineDecayIsSymmetricAboutItsMidpoint) {
  for (int trial = 0; trial < 20; ++trial) {
    Schedule s(random_config(ScheduleKind::kCosine));
    const ScheduleConfig& c = s.config();
    const double lr = c.lr, floor = c.min_lr;
    expect_linear_warmup(s);
    const int64_t mid = (c.warmup_steps + c.total_steps) / 2, span = c.total_steps - c.warmup_steps;
    EXPECT_NEAR(s.lr_at(mid), (lr + floor) / 2, kRel * lr);
    EXPECT_NEAR(s.lr_at(c.total_steps), floor, kRel * lr);
    EXPECT_NEAR(s.lr_at(c.total_steps + 5), floor, kRel * lr);
    for (int64_t d = 0; d <= span; d += std::max<int64_t>(1, span / 17)) {
      EXPECT_NEAR(s.lr_at(c.warmup_steps + d) - floor, (lr - floor) - (s.lr_at(c.total_steps - d) - floor),
                  2 * kRel * lr);
    }
    // Flat at both ends, steepest in the middle.
    EXPECT_LT(s.lr_at(c.warmup_steps) - s.lr_at(c.warmup_steps + 1), s.lr_at(mid) - s.lr_at(mid + 1) + 1e-12);
    for (int64_t t = c.warmup_steps + 1; t <= c.total_steps; ++t) EXPECT_LE(s.lr_at(t), s.lr_at(t - 1));
  }
}

TEST(Schedule, NoamRisesLinearlyThenFallsAsInverseSquareRoot) {
  for (int trial = 0; trial < 20; ++trial) {
    ScheduleConfig c = random_config(ScheduleKind::kNoam);
    c.lr = float(random_int(1, 4));  // the factor
    Schedule s(c);
    const int64_t w = c.warmup_steps;
    const double peak = double(c.lr) / std::sqrt(double(c.d_model)) / std::sqrt(double(w));
    EXPECT_EQ(s.lr_at(0), 0.0f);
    EXPECT_NEAR(s.lr_at(w), peak, kRel * peak);
    EXPECT_NEAR(s.lr_at(w / 2), peak / 2, kRel * peak);
    EXPECT_NEAR(s.lr_at(4 * w), peak / 2, kRel * peak);
    EXPECT_NEAR(s.lr_at(100 * w), peak / 10, kRel * peak);
    for (int64_t t = 1; 2 * t <= w; ++t) EXPECT_NEAR(s.lr_at(2 * t) / 2, s.lr_at(t), kRel * peak) << t;
    EXPECT_LT(s.lr_at(w + 1), s.lr_at(w));
  }
}

TEST(Schedule, InverseSqrtMatchesNoamAfterWarmup) {
  for (int trial = 0; trial < 20; ++trial) {
    ScheduleConfig c = random_config(ScheduleKind::kInverseSqrt);
    Schedule s(c);
    const int64_t w = c.warmup_steps;
    const double lr = c.lr, init = c.warmup_init_lr;
    EXPECT_NEAR(s.lr_at(0), init, kRel * lr);
    EXPECT_NEAR(s.lr_at(w / 2), (init + lr) / 2, kRel * lr);
    EXPECT_NEAR(s.lr_at(w), lr, kRel * lr);
    EXPECT_NEAR(s.lr_at(4 * w), lr / 2, kRel * lr);
    // Noam with the same warm-up and the factor that gives it the same peak.
    ScheduleConfig n = c;
    n.kind = ScheduleKind::kNoam;
    n.lr = float(lr * std::sqrt(double(c.d_model)) * std::sqrt(double(w)));
    Schedule noam(n);
    for (int64_t t = w; t < 50 * w; t += 1 + t / 3) EXPECT_NEAR(noam.lr_at(t), s.lr_at(t), 2 * kRel * lr) << t;
  }
}

TEST(Schedule, KindNamesRoundTrip) {
  for (ScheduleKind k : {ScheduleKind::kConstant, ScheduleKind::kLinear, ScheduleKind::kCosine, ScheduleKind::kNoam,
                         ScheduleKind::kInverseSqrt}) {
    EXPECT_EQ(parse_schedule_kind(schedule_kind_name(k)), k);
  }
  EXPECT_TRUE(throws_with([] { parse_schedule_kind("cosin"); }, {"unknown kind 'cosin'", "constant, linear, cosine"}));
}

TEST(Schedule, RejectsConfigsThatDescribeNoSchedule) {
  ScheduleConfig c;
  c.kind = ScheduleKind::kLinear;
  c.warmup_steps = 100;
  c.total_steps = 100;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"Schedule(linear): total_steps 100 must exceed warmup_steps 100"}));
  c.total_steps = 200;
  c.min_lr = 1.0f;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"Schedule(linear): min_lr 1"}));
  c = {};
  c.kind = ScheduleKind::kNoam;
  c.warmup_steps = 4000;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"Schedule(noam): d_model 0"}));
  c.d_model = 512;
  c.warmup_steps = 0;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"Schedule(noam): warmup_steps 0"}));
  c = {};
  c.kind = ScheduleKind::kInverseSqrt;
  c.warmup_steps = 10;
  c.warmup_init_lr = 1.0f;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"Schedule(inverse_sqrt): warmup_init_lr 1"}));
  c = {};
  c.lr = -1.0f;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"Schedule(constant): lr -1"}));
  c = {};
  c.warmup_steps = -3;
  EXPECT_TRUE(throws_with([&] { Schedule s(c); }, {"warmup_steps -3"}));
  Schedule ok{ScheduleConfig{}};
  EXPECT_TRUE(throws_with([&] { ok.lr_at(-1); }, {"Schedule(constant): step -1"}));
}

}  // namespace
}  // namespace attn::optim
