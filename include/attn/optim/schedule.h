// Learning-rate schedules as pure functions of the step, so a resumed run needs only its step count: constant,
// linear or cosine decay after a linear warm-up, the Transformer's "Noam" inverse square root and fairseq's
// inverse_sqrt. ScheduleConfig is plain data (tasks serialise it); Schedule validates it and evaluates it.
#pragma once
#include <cstdint>
#include <string_view>

namespace attn::optim {

enum class ScheduleKind {
  kConstant,     // lr (after the warm-up, if any)
  kLinear,       // warm-up, then linear decay from lr to min_lr at total_steps, min_lr after
  kCosine,       // warm-up, then half a cosine from lr to min_lr at total_steps, min_lr after
  kNoam,         // lr * d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5) (Vaswani et al.; lr is the factor)
  kInverseSqrt,  // fairseq: warmup_init_lr -> lr linearly over warmup_steps, then lr * sqrt(warmup_steps / step)
};

// "constant", "linear", "cosine", "noam", "inverse_sqrt"
const char* schedule_kind_name(ScheduleKind kind);
// The kind of one of those names; throws attn::Error listing them otherwise.
ScheduleKind parse_schedule_kind(std::string_view name);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kConstant;
  float lr = 1e-3f;             // peak learning rate (noam: the factor in front)
  int64_t warmup_steps = 0;     // constant, linear, cosine: lr * step / warmup_steps while step < warmup_steps
  int64_t total_steps = 0;      // linear, cosine: where the decay reaches min_lr (> warmup_steps)
  float min_lr = 0.0f;          // linear, cosine: the floor, in [0, lr]
  float warmup_init_lr = 0.0f;  // inverse_sqrt: the learning rate at step 0, in [0, lr]
  int64_t d_model = 0;          // noam: the model width
};

class Schedule {
 public:
  // Throws attn::Error naming the schedule and the field when the config does not describe a schedule (negative
  // or non-finite rates, total_steps <= warmup_steps for linear and cosine, warmup_steps < 1 for noam and
  // inverse_sqrt, d_model < 1 for noam).
  explicit Schedule(const ScheduleConfig& config);

  // The learning rate for update number `step`, counted from 1 (step 0: before the first update; 0 during a
  // warm-up from 0). step < 0 throws.
  float lr_at(int64_t step) const;
  const ScheduleConfig& config() const { return config_; }

 private:
  ScheduleConfig config_;
};

}  // namespace attn::optim
