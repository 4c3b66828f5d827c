// `attn demo`: a self-contained run of the core (autograd, attention pooling, softmax, cross-entropy).
#pragma once
#include <cstdint>

namespace attn::cli {

struct DemoOptions {
  int steps = 300;
  float learning_rate = 0.5f;
  uint64_t seed = 1;
  bool color = true;
};

// Returns the process exit code.
int run_demo(const DemoOptions& options);

}  // namespace attn::cli
