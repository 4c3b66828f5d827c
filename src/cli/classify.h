// `attn classify train | test | predict | explain`: the text classifier on the command line.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace attn::cli {

// Adds the `classify` command and its verbs to app. The returned function runs the verb the user chose (call it
// after parsing, when the command was given) and returns the exit code.
std::function<int()> add_classify_command(CLI::App& app, CLI::App*& command);

}  // namespace attn::cli
