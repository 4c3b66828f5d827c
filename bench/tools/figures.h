// Shared by attn_bench_tool's figure families (kernel_figures.cpp holds main, layer_figures.cpp the layers):
// the timing scheme of bench/harness.py, the output line format and the peak-memory probe.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace attn::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Median seconds per call, the same scheme as median_seconds() in bench/harness.py (see there): a warm-up call,
// a timed call that sizes the samples, then 7 samples of >= ATTN_BENCH_SAMPLE_S each (5 or 3 for slow calls).
inline double median_seconds(const std::function<void()>& fn) {
  const char* env = std::getenv("ATTN_BENCH_SAMPLE_S");
  const double sample_s = env ? std::atof(env) : 0.25;
  fn();
  auto t0 = Clock::now();
  fn();
  const double one = seconds_since(t0);
  const int iters = std::clamp(int(sample_s / std::max(one, 1e-7)), 1, 10000);
  const int repeats = one < 0.2 ? 7 : one < 1.0 ? 5 : 3;
  std::vector<double> samples;
  for (int r = 0; r < repeats; ++r) {
    t0 = Clock::now();
    for (int i = 0; i < iters; ++i) fn();
    samples.push_back(seconds_since(t0) / iters);
  }
  std::nth_element(samples.begin(), samples.begin() + repeats / 2, samples.end());
  return samples[size_t(repeats / 2)];
}

// One figure line: name<TAB>value<TAB>unit.
inline void emit(const std::string& name, double value, const char* unit) {
  std::printf("%s\t%.6g\t%s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

// VmHWM: the process's peak resident set so far, in MiB.
inline double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return NAN;
}

// The layers family (layer_figures.cpp). pos: the subcommand and its sizes; false when it is not one of them
// (or has the wrong number of sizes), so main can print its usage.
struct LayerFlags {
  bool backward = false;  // time forward + backward (a training step without the optimizer)
  bool peak_mem = false;  // report peak RSS after one step instead of a time
};
bool run_layer_figure(const std::vector<std::string>& pos, const std::vector<int64_t>& sizes, const LayerFlags& flags);
extern const char* const kLayerUsage;

// The seq2seq family (seq2seq_figures.cpp): as run_layer_figure.
bool run_seq2seq_figure(const std::vector<std::string>& pos, const std::vector<int64_t>& sizes);
extern const char* const kSeq2SeqUsage;

}  // namespace attn::bench
