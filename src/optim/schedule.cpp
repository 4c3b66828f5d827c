#include "attn/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "attn/core/error.h"

namespace attn::optim {
namespace {

constexpr ScheduleKind kKinds[] = {ScheduleKind::kConstant, ScheduleKind::kLinear, ScheduleKind::kCosine,
                                   ScheduleKind::kNoam, ScheduleKind::kInverseSqrt};

}  // namespace

const char* schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kConstant:
      return "constant";
    case ScheduleKind::kLinear:
      return "linear";
    case ScheduleKind::kCosine:
      return "cosine";
    case ScheduleKind::kNoam:
      return "noam";
    case ScheduleKind::kInverseSqrt:
      return "inverse_sqrt";
  }
  return "unknown";
}

ScheduleKind parse_schedule_kind(std::string_view name) {
  std::string known;
  for (ScheduleKind k : kKinds) {
    if (name == schedule_kind_name(k)) return k;
    known += known.empty() ? "" : ", ";
    known += schedule_kind_name(k);
  }
  throw Error(fmt::format("learning-rate schedule: unknown kind '{}' (known: {})", name, known));
}

Schedule::Schedule(const ScheduleConfig& config) : config_(config) {
  const ScheduleConfig& c = config_;
  const char* name = schedule_kind_name(c.kind);
  ATTN_CHECK(std::isfinite(c.lr) && c.lr >= 0.0f, "Schedule({}): lr {} must be finite and >= 0", name, c.lr);
  ATTN_CHECK(c.warmup_steps >= 0, "Schedule({}): warmup_steps {} must be >= 0", name, c.warmup_steps);
  switch (c.kind) {
    case ScheduleKind::kConstant:
      break;
    case ScheduleKind::kLinear:
    case ScheduleKind::kCosine:
      ATTN_CHECK(c.total_steps > c.warmup_steps, "Schedule({}): total_steps {} must exceed warmup_steps {}", name,
                 c.total_steps, c.warmup_steps);
      ATTN_CHECK(c.min_lr >= 0.0f && c.min_lr <= c.lr, "Schedule({}): min_lr {} must be in [0, lr = {}]", name,
                 c.min_lr, c.lr);
      break;
    case ScheduleKind::kNoam:
      ATTN_CHECK(c.warmup_steps >= 1, "Schedule(noam): warmup_steps {} must be >= 1", c.warmup_steps);
      ATTN_CHECK(c.d_model >= 1, "Schedule(noam): d_model {} must be >= 1", c.d_model);
      break;
    case ScheduleKind::kInverseSqrt:
      ATTN_CHECK(c.warmup_steps >= 1, "Schedule(inverse_sqrt): warmup_steps {} must be >= 1", c.warmup_steps);
      ATTN_CHECK(c.warmup_init_lr >= 0.0f && c.warmup_init_lr <= c.lr,
                 "Schedule(inverse_sqrt): warmup_init_lr {} must be in [0, lr = {}]", c.warmup_init_lr, c.lr);
      break;
    default:
      throw Error(fmt::format("Schedule: unknown kind {}", static_cast<int>(c.kind)));
  }
}

float Schedule::lr_at(int64_t step) const {
  const ScheduleConfig& c = config_;
  ATTN_CHECK(step >= 0, "Schedule({}): step {} must be >= 0", schedule_kind_name(c.kind), step);
  const double s = double(step), lr = c.lr, floor = c.min_lr, warmup = double(c.warmup_steps);
  const bool warming = step < c.warmup_steps;
  double out = lr;
  switch (c.kind) {
    case ScheduleKind::kConstant:
      out = warming ? lr * s / warmup : lr;
      break;
    case ScheduleKind::kLinear: {
      const double left = std::max(0.0, (double(c.total_steps) - s) / (double(c.total_steps) - warmup));
      out = warming ? lr * s / warmup : floor + (lr - floor) * left;
      break;
    }
    case ScheduleKind::kCosine: {
      const double progress = std::min(1.0, (s - warmup) / (double(c.total_steps) - warmup));
      out = warming ? lr * s / warmup : floor + (lr - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      break;
    }
    case ScheduleKind::kNoam:
      // At step 0, step^-0.5 is infinite and the warm-up term, 0, is the minimum.
      out = step == 0 ? 0.0
                      : lr / std::sqrt(double(c.d_model)) * std::min(1.0 / std::sqrt(s), s * std::pow(warmup, -1.5));
      break;
    case ScheduleKind::kInverseSqrt:
      out = warming ? c.warmup_init_lr + s * (lr - c.warmup_init_lr) / warmup : lr * std::sqrt(warmup / s);
      break;
  }
  return static_cast<float>(out);
}

}  // namespace attn::optim
