#include "attn/train/interrupt.h"

#include <atomic>
#include <csignal>
#include <mutex>

namespace attn::train {
namespace {

// A lock-free atomic is both async-signal-safe to write from the handler and safe to read from worker threads
// (a volatile sig_atomic_t is only the former).
std::atomic<bool> g_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

constexpr int kSignals[] = {SIGINT, SIGTERM};
std::mutex g_mutex;  // for g_depth and g_previous: guards may come and go on different threads
int g_depth = 0;
struct sigaction g_previous[std::size(kSignals)];

extern "C" void on_signal(int sig) {
  if (!g_requested.exchange(true)) return;
  // Second time: do what the signal would have done without us. Both calls are async-signal-safe; the raised
  // signal is blocked while this handler runs and is delivered, with the default action, when it returns.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  raise(sig);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  std::lock_guard lock(g_mutex);
  if (g_depth++ > 0) return;
  g_requested = false;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking I/O resumes after the first signal; the loop sees the flag at its next poll
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &g_previous[i]);
}

InterruptGuard::~InterruptGuard() {
  std::lock_guard lock(g_mutex);
  if (--g_depth > 0) return;
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

bool interrupt_requested() { return g_requested.load(std::memory_order_relaxed); }

void clear_interrupt() { g_requested = false; }

}  // namespace attn::train
