// Interruption: under a guard the first SIGINT/SIGTERM only sets the flag (the process lives on), a second one
// kills (checked in a forked child); guards nest and the outermost restores whatever handler was there before.
#include "attn/train/interrupt.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

namespace attn::train {
namespace {

volatile std::sig_atomic_t g_custom_calls = 0;
extern "C" void custom_handler(int) { g_custom_calls = g_custom_calls + 1; }

void (*current_handler(int sig))(int) {
  struct sigaction sa {};
  sigaction(sig, nullptr, &sa);
  return sa.sa_handler;
}

// Installs custom_handler for SIGINT and SIGTERM for the test's duration, then puts back what was there.
struct CustomHandlers {
  struct sigaction old_int {}, old_term {};
  CustomHandlers() {
    struct sigaction sa {};
    sa.sa_handler = custom_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_custom_calls = 0;
  }
  ~CustomHandlers() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

TEST(Interrupt, FirstSignalOnlySetsTheFlag) {
  CustomHandlers custom;
  for (int sig : {SIGINT, SIGTERM}) {
    InterruptGuard guard;
    EXPECT_FALSE(interrupt_requested());
    raise(sig);
    EXPECT_TRUE(interrupt_requested()) << sig;  // and we are still here
    EXPECT_EQ(g_custom_calls, 0);
  }
  EXPECT_TRUE(interrupt_requested());  // outlives the guard, for the caller's exit code
  clear_interrupt();
  EXPECT_FALSE(interrupt_requested());
}

TEST(Interrupt, RestoresThePreviousHandlers) {
  CustomHandlers custom;
  {
    InterruptGuard guard;
    EXPECT_NE(current_handler(SIGINT), &custom_handler);
    EXPECT_NE(current_handler(SIGTERM), &custom_handler);
  }
  EXPECT_EQ(current_handler(SIGINT), &custom_handler);
  EXPECT_EQ(current_handler(SIGTERM), &custom_handler);
  raise(SIGINT);
  EXPECT_EQ(g_custom_calls, 1);
  EXPECT_FALSE(interrupt_requested());
}

TEST(Interrupt, OnlyTheOutermostGuardInstallsAndRestores) {
  CustomHandlers custom;
  {
    InterruptGuard outer;
    auto guarded = current_handler(SIGINT);
    {
      InterruptGuard inner;
      EXPECT_EQ(current_handler(SIGINT), guarded);
    }
    EXPECT_EQ(current_handler(SIGINT), guarded);  // the inner guard did not restore custom_handler
    raise(SIGINT);
    EXPECT_TRUE(interrupt_requested());
    EXPECT_EQ(g_custom_calls, 0);
  }
  EXPECT_EQ(current_handler(SIGINT), &custom_handler);
  {
    InterruptGuard fresh;  // a new outermost guard starts with no request
    EXPECT_FALSE(interrupt_requested());
  }
}

TEST(Interrupt, SecondSignalKillsWithTheSignal) {
  for (int sig : {SIGINT, SIGTERM}) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      signal(sig, SIG_DFL);  // whatever the test runner had installed
      InterruptGuard guard;
      raise(sig);
      if (!interrupt_requested()) _exit(3);
      raise(sig);
      _exit(4);  // not reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exited with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    EXPECT_EQ(WTERMSIG(status), sig);
  }
}

}  // namespace
}  // namespace attn::train
