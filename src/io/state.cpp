#include "attn/io/state.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "io/json_text.h"

namespace attn::io {
namespace {

constexpr uint64_t kMaxJsonBytes = uint64_t{1} << 30;  // a sanity bound: configs and vocabularies are far smaller
constexpr int kMaxJsonDepth = 256;  // far beyond any config; keeps nlohmann's recursive dump() off the stack's end
constexpr size_t kNamesShown = 8;

// "'a', 'b', 'c'" with at most kNamesShown names.
std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > kNamesShown) out += fmt::format(", ... ({} more)", names.size() - kNamesShown);
  return out;
}

std::string mismatch_message(const std::string& path, const LoadReport& r) {
  std::vector<std::string> parts;
  if (r.missing.size() == 1) {
    parts.push_back(fmt::format("parameter '{}' is missing from the file", r.missing[0]));
  } else if (!r.missing.empty()) {
    parts.push_back(
        fmt::format("{} parameters are missing from the file: {}", r.missing.size(), quoted_list(r.missing)));
  }
  if (r.unexpected.size() == 1) {
    parts.push_back(fmt::format("tensor '{}' in the file is not a parameter of the model", r.unexpected[0]));
  } else if (!r.unexpected.empty()) {
    parts.push_back(fmt::format("{} tensors in the file are not parameters of the model: {}", r.unexpected.size(),
                                quoted_list(r.unexpected)));
  }
  return fmt::format("{}: {}", path, fmt::join(parts, "; "));
}

}  // namespace

void save_module(const nn::Module& module, const std::string& path, const Metadata& metadata) {
  NamedTensors tensors;
  for (const auto& [name, v] : module.named_parameters()) tensors.emplace_back(name, v.value());
  Metadata meta = metadata;
  meta.emplace("format", "pt");  // kept if the caller set one
  save_safetensors(path, tensors, meta);
}

LoadReport load_module(nn::Module& module, const std::string& path, bool strict) {
  NamedTensors file = load_safetensors(path);  // names are unique: the reader rejects repeats
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : file) by_name.emplace(name, &t);

  LoadReport report;
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // (parameter tensor, source), applied once all is checked
  std::set<std::string> model_names;
  for (const auto& [name, v] : module.named_parameters()) {
    ATTN_CHECK(model_names.insert(name).second, "{}: the model has two parameters named '{}'", path, name);
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      report.missing.push_back(name);
      continue;
    }
    const Tensor& src = *it->second;
    ATTN_CHECK(src.shape() == v.shape(), "{}: parameter '{}' has shape {} in the file but {} in the model", path, name,
               shape_str(src.shape()), shape_str(v.shape()));
    copies.emplace_back(v.value(), &src);
  }
  for (const auto& [name, t] : file) {
    if (!model_names.count(name)) report.unexpected.push_back(name);
  }
  if (strict && (!report.missing.empty() || !report.unexpected.empty())) {
    attn::detail::throw_error(mismatch_message(path, report));
  }
  for (auto& [dst, src] : copies) dst.copy_from(*src);
  return report;
}

nlohmann::json read_json(const std::string& path) {
  std::string text = read_file(path, kMaxJsonBytes);
  return detail::parse_json<nlohmann::json>(text, path + ": invalid JSON", kMaxJsonDepth);
}

void write_json_atomic(const std::string& path, const nlohmann::json& value) {
  std::string text;
  try {
    text = value.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {  // strings that are not valid UTF-8
    attn::detail::throw_error(fmt::format("cannot write '{}': {}", path, detail::json_error_text(e)));
  }
  write_file_atomic(path, text);
}

}  // namespace attn::io
