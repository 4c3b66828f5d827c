// What the task commands share: numeric flag checks that make a bad value a usage error (exit 2), flags that
// override config fields only when given (defaults < --config file < flags), and the exit code for Ctrl-C.
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attn/core/error.h"

namespace attn::cli {

inline constexpr int kExitInterrupted = 130;  // what shells report for a run stopped by Ctrl-C

// A numeric flag's range, checked while parsing. `name` is shown in --help, `rule` in the message.
inline CLI::Validator number(const std::string& name, const std::string& rule, bool (*ok)(double)) {
  return CLI::Validator(
      [rule, ok](std::string& value) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0') return fmt::format("'{}' is not a number", value);
        return ok(v) ? std::string() : fmt::format("must be {}, got {}", rule, value);
      },
      name);
}
inline const CLI::Validator kAtLeast1 = number("POSITIVE", ">= 1", [](double v) { return v >= 1; });
inline const CLI::Validator kAtLeast0 = number("NONNEGATIVE", ">= 0", [](double v) { return v >= 0; });
inline const CLI::Validator kPositive = number("POSITIVE", "> 0", [](double v) { return v > 0; });
inline const CLI::Validator kDropout = number("[0,1)", "in [0, 1)", [](double v) { return v >= 0 && v < 1; });

// Flags that override fields of a task's Config only when given.
template <class Config>
class ConfigFlags {
 public:
  // A valued flag; set(config, value) stores it.
  template <class T, class Set>
  CLI::Option* add(CLI::App* cmd, const std::string& name, const std::string& help, T default_value, Set set) {
    auto value = std::make_shared<T>(default_value);
    CLI::Option* opt = cmd->add_option(name, *value, help);
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later flag overrides an earlier one
    opt->default_str(fmt::format("{}", default_value));
    appliers_.push_back([opt, value, set](Config& c) {
      if (opt->count() > 0) set(c, *value);
    });
    return opt;
  }
  // A switch: set(config) runs when it is given.
  template <class Set>
  void add_switch(CLI::App* cmd, const std::string& name, const std::string& help, Set set) {
    CLI::Option* opt = cmd->add_flag(name, help);
    appliers_.push_back([opt, set](Config& c) {
      if (opt->count() > 0) set(c);
    });
  }
  void apply(Config& c) const {
    for (const auto& f : appliers_) f(c);
  }

 private:
  std::vector<std::function<void(Config&)>> appliers_;
};

// The optimisation flags of every training command, on the task's Config whose `train` member has the fields
// epochs, lr, optimizer, weight_decay, schedule, warmup_steps, clip_norm, patience, max_minutes, ema_decay and
// seed.
template <class Config, class Train>
void add_optimization_flags(ConfigFlags<Config>& c, CLI::App* cmd, const Train& d,
                            const std::vector<std::string>& schedules) {
  using C = Config;
  c.add(cmd, "--epochs", "Passes over the training data", d.epochs, [](C& x, int64_t v) { x.train.epochs = v; })
      ->check(kAtLeast1);
  c.add(cmd, "--lr", "Peak learning rate", d.lr, [](C& x, float v) { x.train.lr = v; })->check(kPositive);
  c.add(cmd, "--optimizer", "adam or adamw", d.optimizer, [](C& x, const std::string& v) { x.train.optimizer = v; })
      ->check(CLI::IsMember({"adam", "adamw"}));
  c.add(cmd, "--weight-decay", "L2 (adam) or decoupled (adamw) weight decay", d.weight_decay,
        [](C& x, float v) { x.train.weight_decay = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--schedule", fmt::format("Learning rate after the warm-up: {}", fmt::join(schedules, ", ")), d.schedule,
        [](C& x, const std::string& v) { x.train.schedule = v; })
      ->check(CLI::IsMember(schedules));
  c.add(cmd, "--warmup", "Warm-up steps", d.warmup_steps, [](C& x, int64_t v) { x.train.warmup_steps = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--clip", "Clip the gradient norm (0: off)", d.clip_norm, [](C& x, float v) { x.train.clip_norm = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--patience", "Early stop after this many epochs without improvement (0: off)", d.patience,
        [](C& x, int64_t v) { x.train.patience = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--max-minutes", "Time budget: stop mid-epoch, validate and keep the best (0: none)", d.max_minutes,
        [](C& x, double v) { x.train.max_minutes = v; })
      ->check(kAtLeast0);
  c.add(cmd, "--ema", "Validate and keep a moving average of the parameters with this decay per step (0: off)",
        d.ema_decay, [](C& x, float v) { x.train.ema_decay = v; })
      ->check(number("[0,1)", "in [0, 1)", [](double v) { return v >= 0 && v < 1; }));
  c.add(cmd, "--seed", "Random seed (data order, initialisation, dropout)", d.seed,
        [](C& x, uint64_t v) { x.train.seed = v; });
}

// Output that cannot be written (a full disk, a closed pipe) is an error, not a silent loss.
inline void flush_stdout() {
  ATTN_CHECK(std::fflush(stdout) == 0 && !std::ferror(stdout), "cannot write the output: {}", std::strerror(errno));
}

}  // namespace attn::cli
