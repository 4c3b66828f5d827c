// attn command-line entry point.
#include <cstdio>
#include <exception>
#include <string>

#include "attn/core/error.h"

int main(int argc, char** argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    std::fprintf(stderr, "usage: attn demo\n");
    return cmd.empty() ? 2 : 0;
  } catch (const attn::Error& e) {
    std::fprintf(stderr, "attn: error: %s\n", e.what());
    return 1;
  }
}
