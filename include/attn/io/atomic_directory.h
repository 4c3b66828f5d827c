// A directory (a model: weights, config, vocabulary) that is either entirely old or entirely new: it is filled
// under a temporary name beside the target and then swapped in, so a failed or interrupted write never leaves a
// mixture of two models, and a failure leaves the old one in place.
#pragma once
#include <functional>
#include <string>

namespace attn::io {

// Creates "<dir>.tmp.<pid>", lets `fill` write into it, then replaces `dir` with it. An existing `dir` is
// replaced only if it is empty or looks like what is being written (it contains `marker_file`, e.g.
// config.json): a directory of other files is never deleted; that is an attn::Error naming it. When `fill`
// throws, the temporary directory is removed and the exception propagates.
void write_directory_atomic(const std::string& dir, const std::string& marker_file,
                            const std::function<void(const std::string& staging_dir)>& fill);

// Throws the attn::Error that write_directory_atomic would for `dir` (not a directory, a directory of other
// files, no parent directory), so that a long job can check its output before it starts.
void check_directory_target(const std::string& dir, const std::string& marker_file);

// The path of `marker_file` inside a directory that write_directory_atomic wrote, for reading it back; an
// attn::Error when dir is no directory ("no such model directory") or lacks the file ("not a model directory").
std::string marker_path(const std::string& dir, const std::string& marker_file);

}  // namespace attn::io
