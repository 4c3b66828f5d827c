// Reading config objects field by field, strictly: a missing field keeps its default, a field of the wrong type
// or an unknown field (a typo would otherwise be ignored silently) is an attn::Error naming the file and key.
#pragma once
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "attn/core/error.h"

namespace attn::io {

class JsonFields {
 public:
  // `where` names the object in messages, e.g. "model/config.json: model".
  JsonFields(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {
    ATTN_CHECK(object_.is_object(), "{}: expected a JSON object, got {}", where_, object_.type_name());
  }

  template <class T>
  void get(const char* key, T& out) {
    seen_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end()) return;
    try {
      out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      ATTN_CHECK(false, "{}: field '{}' has the wrong type ({})", where_, key, it->type_name());
    }
  }

  // The sub-object under key (an empty object when absent).
  nlohmann::json object(const char* key) {
    seen_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nlohmann::json::object() : *it;
  }

  std::string where(const char* key) const { return fmt::format("{}.{}", where_, key); }

  // Call after the last get(): every key of the object must have been asked for.
  void finish() const {
    for (auto it = object_.begin(); it != object_.end(); ++it)
      ATTN_CHECK(seen_.count(it.key()), "{}: unknown field '{}'", where_, it.key());
  }

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string> seen_;
};

// Config structs list their plain fields once, as fields(s, visit) calling visit("key", s.member) for each; these
// write such a list into a JSON object and read it back through JsonFields.
template <class S, class Fields>
void write_fields(nlohmann::json& out, const S& s, Fields fields) {
  fields(s, [&](const char* key, const auto& value) { out[key] = value; });
}
template <class S, class Fields>
void read_fields(JsonFields& in, S& s, Fields fields) {
  fields(s, [&](const char* key, auto& value) { in.get(key, value); });
}

}  // namespace attn::io
