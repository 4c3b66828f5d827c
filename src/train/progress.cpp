#include "attn/train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace attn::train {
namespace {

constexpr double kTtyRedrawS = 0.1;
constexpr int64_t kBarWidth = 30;
// Erase from the cursor to the end of the line, so a shorter line leaves nothing of the longer one before it.
constexpr std::string_view kClearToEnd = "\x1b[K";

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool is_terminal(FILE* f) {
  const char* term = std::getenv("TERM");
  return f && isatty(fileno(f)) && !(term && std::strcmp(term, "dumb") == 0);
}

// 3 significant digits with k/M/G: "812", "5.3k", "53k", "1.2M".
std::string compact(double x) {
  static constexpr const char* kSuffix[] = {"", "k", "M", "G", "T"};
  size_t i = 0;
  while (i + 1 < std::size(kSuffix) && std::fabs(x) >= 999.5) x /= 1000, ++i;
  return fmt::format("{:.3g}{}", x, kSuffix[i]);
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-:--";
  auto s = static_cast<int64_t>(std::llround(std::min(seconds, 1e12)));
  if (s < 3600) return fmt::format("{}:{:02}", s / 60, s % 60);
  return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

Progress::Progress(std::string label, int64_t total, Options options)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 0)), opt_(std::move(options)) {
  if (!opt_.clock) opt_.clock = steady_seconds;
  tty_ = opt_.tty.value_or(is_terminal(opt_.out));
  start_ = last_draw_ = opt_.clock();
  // On a terminal the bar appears at once, so a slow first step does not look like a hang. A log gets its first
  // line only after an interval: short work then writes just the final line.
  if (tty_) draw(start_);
}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {  // out of memory while formatting: the line is cosmetic, do not terminate for it
  }
}

void Progress::advance(int64_t n, int64_t units) {
  done_ += n;
  units_ += units;
  has_units_ = has_units_ || units != 0;
  if (finished_) return;
  double now = opt_.clock();
  if (now - last_draw_ >= (tty_ ? kTtyRedrawS : opt_.plain_interval_s)) draw(now);
}

void Progress::set_metric(std::string_view name, double value) {
  for (auto& [n, v] : metrics_) {
    if (n == name) {
      v = value;
      return;
    }
  }
  metrics_.emplace_back(name, value);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  std::string line = render(opt_.clock(), true);
  write(tty_ ? "\r" + line + std::string(kClearToEnd) + "\n" : line + "\n");
}

void Progress::message(std::string_view line) {
  if (tty_ && !finished_) {
    write(fmt::format("\r{}{}\n", kClearToEnd, line));
    draw(opt_.clock());
  } else {
    write(fmt::format("{}\n", line));
  }
}

void Progress::draw(double now) {
  last_draw_ = now;
  std::string line = render(now, false);
  ++draws_;
  write(tty_ ? "\r" + line + std::string(kClearToEnd) : line + "\n");
}

std::string Progress::render(double now, bool final) const {
  std::vector<std::string> parts;
  if (!label_.empty()) parts.push_back(label_);
  if (total_ > 0) {
    if (tty_) {
      int64_t filled = std::clamp<int64_t>(done_ * kBarWidth / total_, 0, kBarWidth);
      std::string bar(size_t(filled), '=');
      if (filled < kBarWidth) bar += '>';
      bar.resize(size_t(kBarWidth), ' ');
      parts.push_back("[" + bar + "]");
    }
    // Rounded down, so 100% means done.
    int64_t percent = std::clamp<int64_t>(done_ * 100 / total_, 0, 100);
    parts.push_back(fmt::format("{}/{} {}%", done_, total_, percent));
  } else {
    if (tty_ && !final) parts.push_back(std::string(1, "|/-\\"[draws_ % 4]));
    parts.push_back(std::to_string(done_));
  }
  for (const auto& [name, value] : metrics_) parts.push_back(fmt::format("{} {:.4g}", name, value));
  double elapsed = now - start_;
  if (elapsed > 0 && (done_ > 0 || units_ > 0)) {
    double count = has_units_ ? double(units_) : double(done_);
    parts.push_back(fmt::format("{} {}/s", compact(count / elapsed), has_units_ ? opt_.unit : "it"));
  }
  if (final || total_ <= 0) {
    parts.push_back("elapsed " + format_duration(elapsed));
  } else if (done_ > 0 && done_ < total_) {
    // From the average pace so far: steadier than the recent pace, and epochs run at an even pace.
    parts.push_back("ETA " + format_duration(elapsed * double(total_ - done_) / double(done_)));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

void Progress::write(const std::string& s) const {
  if (!opt_.out) return;
  std::fwrite(s.data(), 1, s.size(), opt_.out);
  std::fflush(opt_.out);
}

}  // namespace attn::train
