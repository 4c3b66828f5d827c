// `attn seq2seq train | test`, `attn translate`, `attn summarize`: sequence-to-sequence models on the command line.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace attn::cli {

// Adds the `seq2seq`, `translate` and `summarize` commands to app. The returned function runs the one the user
// chose (call it after parsing) and returns the exit code, or -1 when none of them was given.
std::function<int()> add_seq2seq_commands(CLI::App& app);

}  // namespace attn::cli
