// A tiny well-formedness check for the markup attn::viz writes: tags balanced and properly nested, attributes
// quoted, no raw '<' in text or attribute values, '&' only in character references. Not a full XML parser.
#pragma once
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace attn::testing {

namespace xml_detail {
inline bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == ':' ||
         c == '_' || c == '.';
}
// s[i] == '&': a reference to one of XML's five entities or a numeric character reference.
inline bool reference_at(std::string_view s, size_t i) {
  size_t semi = s.find(';', i);
  if (semi == std::string_view::npos || semi - i > 10) return false;
  std::string_view ref = s.substr(i + 1, semi - i - 1);
  if (ref == "amp" || ref == "lt" || ref == "gt" || ref == "quot" || ref == "apos") return true;
  if (ref.size() < 2 || ref[0] != '#') return false;
  for (char c : ref.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace xml_detail

// "" when well-formed, else what is wrong and where. `void_elements` (HTML's <meta>) need no closing tag.
inline std::string markup_problem(std::string_view s, const std::set<std::string>& void_elements = {}) {
  using namespace xml_detail;
  std::vector<std::string> open;
  size_t i = 0;
  auto where = [&](size_t at) { return " at byte " + std::to_string(at); };
  while (i < s.size()) {
    if (s[i] == '&') {
      if (!reference_at(s, i)) return "bare '&'" + where(i);
      ++i;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    if (s.substr(i, 2) == "<?" || s.substr(i, 2) == "<!") {  // prolog, doctype
      size_t end = s.find('>', i);
      if (end == std::string_view::npos) return "unterminated declaration" + where(i);
      i = end + 1;
      continue;
    }
    size_t j = i + 1;
    bool closing = j < s.size() && s[j] == '/';
    if (closing) ++j;
    size_t name_start = j;
    while (j < s.size() && name_char(s[j])) ++j;
    std::string name(s.substr(name_start, j - name_start));
    if (name.empty()) return "raw '<'" + where(i);
    bool self_closing = false;
    for (;;) {  // attributes
      while (j < s.size() && (s[j] == ' ' || s[j] == '\n')) ++j;
      if (j >= s.size()) return "unterminated tag <" + name + where(i);
      if (s[j] == '>') break;
      if (s.substr(j, 2) == "/>") {
        self_closing = true;
        ++j;
        break;
      }
      if (closing) return "attribute in closing tag" + where(j);
      size_t a = j;
      while (j < s.size() && name_char(s[j])) ++j;
      if (j == a || j + 1 >= s.size() || s[j] != '=' || s[j + 1] != '"') return "malformed attribute" + where(a);
      j += 2;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '<') return "raw '<' in attribute" + where(j);
        if (s[j] == '&' && !reference_at(s, j)) return "bare '&' in attribute" + where(j);
      }
      if (j >= s.size()) return "unterminated attribute" + where(a);
      ++j;
    }
    i = j + 1;
    if (closing) {
      if (open.empty() || open.back() != name) {
        return "</" + name + "> closes <" + (open.empty() ? std::string("nothing") : open.back()) + ">" + where(j);
      }
      open.pop_back();
    } else if (!self_closing && !void_elements.count(name)) {
      open.push_back(name);
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

}  // namespace attn::testing
