// A model on disk: a Module's parameters as model.safetensors under their dotted names (the names of a PyTorch
// state_dict, so files move between the two), and the JSON files kept beside it (config.json). Include
// <nlohmann/json.hpp> to use the JSON values; this header only declares them.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "attn/io/safetensors.h"
#include "attn/nn/module.h"

namespace attn::io {

// Writes every parameter (named_parameters()) atomically. The metadata gets "format": "pt" unless it sets one,
// as Hugging Face's loaders require it.
void save_module(const nn::Module& module, const std::string& path, const Metadata& metadata = {});

// What a non-strict load left out, in model order (missing) and file order (unexpected).
struct LoadReport {
  std::vector<std::string> missing;     // parameters of the model that the file lacks (they keep their values)
  std::vector<std::string> unexpected;  // tensors in the file that the model has no parameter for
};

// Copies the file's tensors into the module's existing parameter tensors (so optimisers holding them stay
// valid). Strict: missing or unexpected names are errors; otherwise they are returned. A shape mismatch is always
// an error. Everything is checked before anything is copied, so a failed load leaves the module as it was.
LoadReport load_module(nn::Module& module, const std::string& path, bool strict = true);

// JSON files: errors name the file (and line and column for syntax errors). Writing is atomic, 2-space indented.
nlohmann::json read_json(const std::string& path);
void write_json_atomic(const std::string& path, const nlohmann::json& value);

}  // namespace attn::io
