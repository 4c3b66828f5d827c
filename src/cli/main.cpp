// attn: the command-line tool. Parses flags (CLI11) into task options, runs them, and turns errors into one
// clear line and an exit code: 0 success, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "attn/core/threads.h"
#include "attn/kernels/gemm.h"
#include "cli/classify.h"
#include "cli/demo.h"
#include "cli/seq2seq.h"

int main(int argc, char** argv) {
  CLI::App app{"attn: attention-based neural networks in fast C++"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "attn 0.1.0");
  int threads = 0;
  app.add_option("--threads", threads, "Threads for kernels and the BLAS (default: all cores)");

  attn::cli::DemoOptions demo;
  auto* demo_cmd = app.add_subcommand("demo", "Train a tiny attention-pooling classifier on built-in data and "
                                              "print what it attends to");
  demo_cmd->add_option("--steps", demo.steps, "Training steps")->check(CLI::PositiveNumber);
  demo_cmd->add_option("--lr", demo.learning_rate, "SGD learning rate")->check(CLI::PositiveNumber);
  demo_cmd->add_option("--seed", demo.seed, "Random seed");
  demo_cmd->add_flag("!--no-color", demo.color, "Plain output even on a terminal");

  CLI::App* classify_cmd = nullptr;
  auto run_classify = attn::cli::add_classify_command(app, classify_cmd);
  auto run_seq2seq = attn::cli::add_seq2seq_commands(app);

  auto* info_cmd = app.add_subcommand("info", "Print the build's CPU kernels and BLAS");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  int status = 0;
  try {
    if (threads > 0) attn::set_num_threads(threads);
    if (*demo_cmd) status = attn::cli::run_demo(demo);
    if (*classify_cmd) status = run_classify();
    if (const int s = run_seq2seq(); s >= 0) status = s;
    if (*info_cmd) {
      fmt::print("attn 0.1.0\nthreads: {}\nBLAS: {}\n", attn::num_threads(), attn::kernels::blas_description());
    }
  } catch (const std::exception& e) {  // attn::Error and the standard library's
    std::fprintf(stderr, "attn: error: %s\n", e.what());
    return 1;
  }
  // Output that could not be written (a full disk) is an error, not a silent loss.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "attn: error: cannot write the output: %s\n", std::strerror(errno));
    return 1;
  }
  return status;
}
