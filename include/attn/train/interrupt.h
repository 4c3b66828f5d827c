// Ctrl-C during training means "stop soon and keep my work": while an InterruptGuard lives, the first SIGINT or
// SIGTERM only sets a flag that long loops poll, so they can write a resumable checkpoint and stop cleanly. A
// second signal means the user insists: the default action is restored and the signal re-raised (the process dies).
#pragma once

namespace attn::train {

// Guards nest: only the outermost installs the handlers (clearing any earlier request) and restores the previous
// ones when it goes. The flag outlives the guard, so the caller can still see after the work that it was
// interrupted (and exit with 130, say).
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// Whether SIGINT/SIGTERM arrived under a guard. Cheap (one atomic load): poll it every step.
bool interrupt_requested();

// Forgets a request (tests; a CLI that asks "really stop?").
void clear_interrupt();

}  // namespace attn::train
