#include "attn/data/label_set.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "attn/core/error.h"

namespace attn::data {
namespace {

constexpr size_t kNamesShown = 20;

// "-12", "3", "0.5": optional sign, digits, optional fraction (no exponents, hex, inf or nan).
bool is_number(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  return digits > 0 && i == s.size();
}

bool label_less(const std::string& a, const std::string& b) {
  const bool na = is_number(a), nb = is_number(b);
  if (na != nb) return na;
  if (na) {
    const double va = std::strtod(a.c_str(), nullptr), vb = std::strtod(b.c_str(), nullptr);
    if (va != vb) return va < vb;
  }
  return a < b;
}

}  // namespace

LabelSet::LabelSet(std::vector<std::string> names) : names_(std::move(names)) {
  for (size_t i = 0; i < names_.size(); ++i) {
    ATTN_CHECK(!names_[i].empty(), "label set: label {} is empty", i);
    ATTN_CHECK(ids_.emplace(names_[i], static_cast<int32_t>(i)).second, "label set: label '{}' appears twice",
               names_[i]);
  }
}

LabelSet LabelSet::from(const std::vector<TextExample>& examples) {
  std::set<std::string> distinct;
  for (const auto& e : examples) {
    if (!e.label.empty()) distinct.insert(e.label);
  }
  std::vector<std::string> names(distinct.begin(), distinct.end());
  std::sort(names.begin(), names.end(), label_less);
  return LabelSet(std::move(names));
}

int32_t LabelSet::id(std::string_view name) const {
  if (auto found = find(name)) return *found;
  std::string known;
  for (size_t i = 0; i < names_.size() && i < kNamesShown; ++i) known += (i ? ", " : "") + names_[i];
  if (names_.size() > kNamesShown) known += fmt::format(", ... ({} more)", names_.size() - kNamesShown);
  attn::detail::throw_error(fmt::format("unknown label '{}' (the model knows: {})", name, known));
}

std::optional<int32_t> LabelSet::find(std::string_view name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string& LabelSet::name(int32_t id) const {
  ATTN_CHECK(id >= 0 && id < size(), "label id {} is out of range (the model has {} labels)", id, size());
  return names_[static_cast<size_t>(id)];
}

nlohmann::json LabelSet::to_json() const { return nlohmann::json(names_); }

LabelSet LabelSet::from_json(const nlohmann::json& j) {
  ATTN_CHECK(j.is_array(), "label set: expected a JSON array of label names, got {}", j.type_name());
  std::vector<std::string> names;
  for (const auto& v : j) {
    ATTN_CHECK(v.is_string(), "label set: label {} is a {}, not a string", names.size(), v.type_name());
    names.push_back(v.get<std::string>());
  }
  return LabelSet(std::move(names));
}

}  // namespace attn::data
