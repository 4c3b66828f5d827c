// What the task commands share: numeric flag checks that make a bad value a usage error (exit 2), flags that
// override config fields only when given (defaults < --config file < flags), and the exit code for Ctrl-C.
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>

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

// Output that cannot be written (a full disk, a closed pipe) is an error, not a silent loss.
inline void flush_stdout() {
  ATTN_CHECK(std::fflush(stdout) == 0 && !std::ferror(stdout), "cannot write the output: {}", std::strerror(errno));
}

}  // namespace attn::cli
