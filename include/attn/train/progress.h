// Progress of long work (an epoch, an evaluation, a data scan). On a terminal, a live bar redrawn in place:
//   epoch 2/10 [=========>                    ] 512/1563 32% loss 0.412 acc 0.871 5.3k ex/s ETA 1:02
// elsewhere (a file, a pipe, a CI log) the same without the bar, one line every few seconds and one at the end.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn::train {

struct ProgressOptions {
  FILE* out = stderr;
  // nullopt: a terminal if out is one and TERM is not "dumb".
  std::optional<bool> tty;
  // Plain mode: at most one line per this many seconds (plus the final line).
  double plain_interval_s = 10;
  // What the `units` of advance() count, for the rate ("ex/s", "tok/s").
  std::string unit = "ex";
  // Seconds on any monotonic scale; empty: std::chrono::steady_clock. Tests inject a fake clock.
  std::function<double()> clock;
};

// Not thread-safe: one thread drives it. Output errors are ignored (progress is cosmetic).
class Progress {
 public:
  using Options = ProgressOptions;

  // total <= 0: unknown length, shown as a running count (with a spinner on a terminal), no bar or ETA.
  Progress(std::string label, int64_t total, Options options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // n more steps done, and `units` more examples/tokens for the rate. If no call ever passes units, the rate
  // counts steps ("it/s"). Redraws at most 10 times a second on a terminal, every plain_interval_s otherwise.
  void advance(int64_t n = 1, int64_t units = 0);
  // Shown after the counts as "name value" (%.4g), in the order first set; takes effect at the next redraw.
  void set_metric(std::string_view name, double value);
  // The final line: counts, metrics, average rate and elapsed time, then a newline. Idempotent.
  void finish();
  // A line of its own above the bar (the bar is cleared, the line printed, the bar redrawn).
  void message(std::string_view line);

 private:
  std::string render(double now, bool final) const;
  void draw(double now);
  void write(const std::string& s) const;

  std::string label_;
  int64_t total_;
  Options opt_;
  bool tty_;
  double start_, last_draw_;
  int64_t done_ = 0, units_ = 0;
  bool has_units_ = false, finished_ = false;
  int64_t draws_ = 0;  // spins the spinner
  std::vector<std::pair<std::string, double>> metrics_;
};

// "0:07", "12:34", "1:02:03"; "-:--" for negative or non-finite input.
std::string format_duration(double seconds);

}  // namespace attn::train
