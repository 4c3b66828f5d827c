// The label names a classifier knows, and their ids (the output rows of the model). Saved with the model, so
// the ids mean the same classes at training and at prediction time.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attn/data/text_dataset.h"

namespace attn::data {

class LabelSet {
 public:
  LabelSet() = default;
  explicit LabelSet(std::vector<std::string> names);  // ids in the given order; names unique and non-empty

  // The distinct non-empty labels, numeric ones first in numeric order ("1" < "2" < "10"), then the others
  // in byte order.
  static LabelSet from(const std::vector<TextExample>& examples);

  int32_t id(std::string_view name) const;  // throws "unknown label 'X' (the model knows: a, b, c)"
  std::optional<int32_t> find(std::string_view name) const;
  const std::string& name(int32_t id) const;
  const std::vector<std::string>& names() const { return names_; }
  int32_t size() const { return static_cast<int32_t>(names_.size()); }

  nlohmann::json to_json() const;  // the names as an array, in id order
  static LabelSet from_json(const nlohmann::json& j);

 private:
  std::vector<std::string> names_;
  std::map<std::string, int32_t, std::less<>> ids_;
};

}  // namespace attn::data
