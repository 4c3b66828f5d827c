// Parsing JSON from files with attn::Error messages that name the file, for safetensors headers and config files.
#pragma once
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "attn/core/error.h"

namespace attn::io::detail {

// An exception's text without nlohmann's "[json.exception.parse_error.101] " prefix (parse errors keep their
// "at line L, column C").
inline std::string json_error_text(const std::exception& e) {
  const char* what = e.what();
  if (what[0] == '[') {
    if (const char* close = std::strstr(what, "] ")) return close + 2;
  }
  return what;
}

// Parses text into JsonT (nlohmann::json or ordered_json); errors read "<context>: <what is wrong>". Refuses
//  - NUL bytes: nlohmann stops at one as if the input ended there, so garbage after it would pass unseen;
//  - nesting deeper than max_depth: parsing is iterative, but dump() and comparisons recurse, so a file of a
//    million '[' would overflow the stack later.
// on_top_key, if given, sees every key of the top-level object, repeats included (the DOM keeps only the last).
template <class JsonT>
JsonT parse_json(std::string_view text, const std::string& context, int max_depth,
                 const std::function<void(const std::string&)>& on_top_key = {}) {
  size_t nul = text.find('\0');
  ATTN_CHECK(nul == std::string_view::npos, "{}: NUL byte at offset {}", context, nul);
  using Event = typename JsonT::parse_event_t;
  bool too_deep = false;
  typename JsonT::parser_callback_t on_event = [&](int depth, Event event, JsonT& parsed) {
    if ((event == Event::object_start || event == Event::array_start) && depth >= max_depth) {
      too_deep = true;
      return false;  // discarded, so the tree never gets deeper than max_depth
    }
    if (event == Event::key && depth == 1 && on_top_key) on_top_key(parsed.template get<std::string>());
    return true;
  };
  JsonT j;
  try {
    j = JsonT::parse(text.begin(), text.end(), on_event);
  } catch (const typename JsonT::exception& e) {
    attn::detail::throw_error(fmt::format("{}: {}", context, json_error_text(e)));
  }
  ATTN_CHECK(!too_deep, "{}: nested more than {} levels deep", context, max_depth);
  return j;
}

}  // namespace attn::io::detail
