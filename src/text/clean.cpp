#include "attn/text/clean.h"

#include <array>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/text/normalize.h"
#include "attn/text/utf8.h"

namespace attn::text {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// ---- markup ---------------------------------------------------------------------------------------------------

// A '<' further than this from its '>' is text, not a tag; the bound also keeps the scan linear on garbage.
constexpr size_t kMaxTagBytes = 4096;

// Length of the tag, comment or declaration starting at s[i] == '<', or 0 if there is none ("a < b", "<3").
// comment_end holds the position of a "-->" found before; it is only searched again when behind i, so a text
// full of unclosed comments is still read once.
size_t markup_length(std::string_view s, size_t i, size_t& comment_end) {
  const size_t n = s.size();
  size_t j = i + 1;
  if (s.substr(j, 3) == "!--") {
    if (comment_end < j + 3) comment_end = s.find("-->", j + 3);
    return comment_end == std::string_view::npos || comment_end - i > kMaxTagBytes ? 0 : comment_end + 3 - i;
  }
  if (j < n && (s[j] == '/' || s[j] == '!' || s[j] == '?')) ++j;
  if (j >= n || !is_alpha(s[j])) return 0;
  while (j < n && (is_alnum(s[j]) || s[j] == '-' || s[j] == ':' || s[j] == '_')) ++j;
  if (j >= n || !(s[j] == '>' || s[j] == '/' || is_ascii_space(s[j]))) return 0;
  char quote = 0;  // inside an attribute value
  for (; j < n && j - i < kMaxTagBytes; ++j) {
    const char c = s[j];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '>') {
      return j + 1 - i;
    } else if (c == '<') {
      return 0;
    } else if ((c == '"' || c == '\'') && s[j - 1] == '=') {
      quote = c;
    }
  }
  return 0;
}

struct NamedEntity {
  std::string_view name;
  char32_t code_point;
};
constexpr NamedEntity kEntities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},    {"nbsp", 0xA0},
    {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"laquo", 0xAB},   {"raquo", 0xBB},    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122},
    {"euro", 0x20AC},  {"pound", 0xA3},   {"yen", 0xA5},      {"cent", 0xA2},    {"deg", 0xB0},     {"middot", 0xB7},
    {"bull", 0x2022},  {"times", 0xD7},   {"eacute", 0xE9},   {"egrave", 0xE8},  {"aacute", 0xE1},  {"agrave", 0xE0},
    {"iacute", 0xED},  {"oacute", 0xF3},  {"uacute", 0xFA},   {"ntilde", 0xF1},  {"ccedil", 0xE7},  {"auml", 0xE4},
    {"ouml", 0xF6},    {"uuml", 0xFC},    {"szlig", 0xDF},
};

// Decodes the entity at s[i] == '&' into out and returns its length, or returns 0 if there is none
// ("Q&A", "&bogus;", "&#0;", "&#xD800;" stay as they are).
size_t decode_entity(std::string_view s, size_t i, std::string& out) {
  const size_t semi = s.substr(0, i + 12).find(';', i + 1);  // "&#x10FFFF;" is the longest
  if (semi == std::string_view::npos) return 0;
  const std::string_view body = s.substr(i + 1, semi - i - 1);
  char32_t cp = 0;
  if (body.size() >= 2 && body[0] == '#') {
    const bool hex = body[1] == 'x' || body[1] == 'X';
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    uint32_t value = 0;
    for (const char c : digits) {
      const bool hex_letter = hex && lower(c) >= 'a' && lower(c) <= 'f';
      if (!is_digit(c) && !hex_letter) return 0;
      const int d = hex_letter ? lower(c) - 'a' + 10 : c - '0';
      value = value * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      if (value > 0x10FFFF) return 0;
    }
    if (value == 0 || (value >= 0xD800 && value <= 0xDFFF)) return 0;
    cp = value;
  } else {
    for (const auto& e : kEntities) {
      if (e.name == body) cp = e.code_point;
    }
    if (cp == 0) return 0;
  }
  append_utf8(out, cp);
  return semi + 1 - i;
}

std::string strip_markup(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t comment_end = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t next = i;
    while (next < s.size() && s[next] != '<' && s[next] != '&') ++next;
    out.append(s.data() + i, next - i);
    i = next;
    if (i == s.size()) break;
    const size_t len = s[i] == '<' ? markup_length(s, i, comment_end) : decode_entity(s, i, out);
    if (len == 0) {
      out += s[i++];
    } else {
      if (s[i] == '<') out += ' ';
      i += len;
    }
  }
  return out;
}

// ---- placeholders and whitespace ------------------------------------------------------------------------------

bool starts_with_nocase(std::string_view s, size_t i, std::string_view prefix) {
  if (s.size() - i < prefix.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k) {
    if (lower(s[i + k]) != prefix[k]) return false;
  }
  return true;
}

// End of the URL starting at s[i], or i if none starts there. A URL ends at a space, a quote, an angle bracket or
// the first non-ASCII character (Chinese text often follows a link without a space); trailing punctuation is
// taken to belong to the sentence.
size_t url_end(std::string_view s, size_t i) {
  size_t prefix = 0;
  for (const std::string_view start : {"http://", "https://", "www."}) {
    if (starts_with_nocase(s, i, start)) prefix = start.size();
  }
  if (prefix == 0 || i + prefix == s.size() || !is_alnum(s[i + prefix])) return i;
  size_t j = i + prefix;
  while (j < s.size()) {
    const auto c = static_cast<unsigned char>(s[j]);
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>') break;
    ++j;
  }
  while (j > i + prefix && std::string_view(".,;:!?'\")]}").find(s[j - 1]) != std::string_view::npos) --j;
  return j;
}

bool is_email_local(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }

// End of the e-mail address starting at s[i], or i if none starts there.
size_t email_end(std::string_view s, size_t i) {
  size_t at = i;
  while (at < s.size() && is_email_local(s[at])) ++at;
  if (at == i || at >= s.size() || s[at] != '@') return i;
  size_t end = at + 1;
  while (end < s.size() && (is_alnum(s[end]) || s[end] == '.' || s[end] == '-')) ++end;
  while (end > at + 1 && (s[end - 1] == '.' || s[end - 1] == '-')) --end;
  const std::string_view domain = s.substr(at + 1, end - at - 1);
  const size_t dot = domain.rfind('.');
  if (domain.empty() || !is_alnum(domain[0]) || dot == std::string_view::npos || domain.size() - dot < 3) return i;
  for (size_t k = dot + 1; k < domain.size(); ++k) {
    if (!is_alpha(domain[k])) return i;
  }
  return end;
}

// End of the digit run (with single '.' or ',' between digits) starting at s[i].
size_t number_end(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size()) {
    if (is_digit(s[j])) {
      ++j;
    } else if ((s[j] == '.' || s[j] == ',') && j + 1 < s.size() && is_digit(s[j + 1])) {
      j += 2;
    } else {
      break;
    }
  }
  return j;
}

// Writes text with single spaces between the pieces it is given, none at the ends.
class SpacedWriter {
 public:
  explicit SpacedWriter(std::string& out) : out_(out) {}
  void space() { pending_ = true; }
  void put(std::string_view bytes) {
    if (pending_ && !out_.empty()) out_ += ' ';
    pending_ = false;
    out_.append(bytes);
  }
  void put_placeholder(std::string_view name) {
    space();
    put(name);
    space();
  }

 private:
  std::string& out_;
  bool pending_ = false;
};

bool may_hold_url(std::string_view s) {
  if (s.find("://") != std::string_view::npos) return true;
  for (size_t p = s.find('.'); p != std::string_view::npos; p = s.find('.', p + 1)) {
    if (p >= 3 && lower(s[p - 1]) == 'w' && lower(s[p - 2]) == 'w' && lower(s[p - 3]) == 'w') return true;
  }
  return false;
}

std::string replace_and_collapse(std::string_view s, const CleanOptions& o) {
  // Most texts hold no URL and no '@': then only spaces need looking at.
  const bool urls = o.replace_urls && may_hold_url(s);
  const bool emails = o.replace_emails && s.find('@') != std::string_view::npos;
  const bool numbers = o.replace_numbers;
  const auto url_start = [&](size_t i) {
    return urls && (lower(s[i]) == 'h' || lower(s[i]) == 'w') && (i == 0 || !is_alnum(s[i - 1]));
  };
  const auto email_start = [&](size_t i) {
    return emails && is_email_local(s[i]) && (i == 0 || !is_email_local(s[i - 1]));
  };
  const auto number_start = [&](size_t i) { return numbers && is_digit(s[i]) && (i == 0 || !is_alnum(s[i - 1])); };

  std::string out;
  out.reserve(s.size());
  SpacedWriter w(out);
  size_t i = 0;
  while (i < s.size()) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x80) {
      size_t j = i;
      const char32_t cp = next_code_point(s, &j);
      if (is_space(cp)) {
        w.space();
      } else {
        w.put(s.substr(i, j - i));
      }
      i = j;
      continue;
    }
    if (u <= 0x20 || u == 0x7F) {
      w.space();
      ++i;
      continue;
    }
    if (url_start(i)) {
      const size_t end = url_end(s, i);
      if (end > i) {
        w.put_placeholder("<url>");
        i = end;
        continue;
      }
    }
    if (email_start(i)) {
      const size_t end = email_end(s, i);
      if (end > i) {
        w.put_placeholder("<email>");
        i = end;
        continue;
      }
    }
    if (number_start(i)) {
      const size_t end = number_end(s, i);
      if (end < s.size() && is_alpha(s[end])) {
        w.put(s.substr(i, end - i));  // part of a word: mp3, 2nd, 1980s
      } else {
        w.put_placeholder("<num>");
      }
      i = end;
      continue;
    }
    // Plain ASCII up to the next space, non-ASCII character or possible placeholder.
    size_t j = i + 1;
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c <= 0x20 || c >= 0x7F || url_start(j) || email_start(j) || number_start(j)) break;
      ++j;
    }
    w.put(s.substr(i, j - i));
    i = j;
  }
  return out;
}

constexpr std::array<std::string_view, 6> kOptionNames = {"nfkc",         "lowercase",      "strip_markup",
                                                          "replace_urls", "replace_emails", "replace_numbers"};

bool* option_field(CleanOptions& o, std::string_view name) {
  if (name == "nfkc") return &o.nfkc;
  if (name == "lowercase") return &o.lowercase;
  if (name == "strip_markup") return &o.strip_markup;
  if (name == "replace_urls") return &o.replace_urls;
  if (name == "replace_emails") return &o.replace_emails;
  if (name == "replace_numbers") return &o.replace_numbers;
  return nullptr;
}

}  // namespace

std::string clean_text(std::string_view utf8, const CleanOptions& options) {
  const auto bad = find_invalid_utf8(utf8);
  ATTN_CHECK(!bad, "clean_text: invalid UTF-8 at byte {}", *bad);
  std::string text = options.strip_markup ? strip_markup(utf8) : std::string(utf8);
  if (options.nfkc) text = nfkc(text);
  if (options.lowercase) text = lowercase(text);
  return replace_and_collapse(text, options);
}

nlohmann::json to_json(const CleanOptions& options) {
  CleanOptions o = options;
  nlohmann::json j = nlohmann::json::object();
  for (const auto name : kOptionNames) j[std::string(name)] = *option_field(o, name);
  return j;
}

CleanOptions clean_options_from_json(const nlohmann::json& json) {
  ATTN_CHECK(json.is_object(), "clean options: expected a JSON object, got {}", json.type_name());
  CleanOptions o;
  for (const auto& [key, value] : json.items()) {
    bool* field = option_field(o, key);
    ATTN_CHECK(field, "clean options: unknown key '{}' (known: {})", key, fmt::join(kOptionNames, ", "));
    ATTN_CHECK(value.is_boolean(), "clean options: '{}' must be true or false, got {}", key, value.dump());
    *field = value.get<bool>();
  }
  return o;
}

}  // namespace attn::text
