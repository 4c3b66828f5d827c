#include "attn/text/normalize.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "attn/core/error.h"
#include "attn/text/utf8.h"

namespace attn::text {
namespace {

size_t first_non_ascii(std::string_view s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return i;
  }
  return s.size();
}

void check_valid(std::string_view s, const char* what) {
  const auto bad = find_invalid_utf8(s);
  ATTN_CHECK(!bad, "{}: invalid UTF-8 at byte {}", what, *bad);
}

// NFKC of one piece of text, through utf8proc.
void append_nfkc(std::string& out, std::string_view piece) {
  utf8proc_uint8_t* mapped = nullptr;
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(piece.data()),
                                          static_cast<utf8proc_ssize_t>(piece.size()), &mapped, options);
  ATTN_CHECK(n >= 0, "nfkc: {}", utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  out.append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
}

}  // namespace

std::string nfkc(std::string_view utf8) {
  check_valid(utf8, "nfkc");
  // ASCII is in NFKC and nothing composes across a following ASCII character, so only the non-ASCII runs go
  // through utf8proc, each with the ASCII character before it (which a combining mark may compose with).
  std::string out;
  out.reserve(utf8.size());
  size_t i = 0;
  while (i < utf8.size()) {
    size_t begin = first_non_ascii(utf8, i);
    if (begin == utf8.size()) break;
    if (begin > i) --begin;
    out.append(utf8.data() + i, begin - i);
    size_t end = begin + 1;
    while (end < utf8.size() && static_cast<unsigned char>(utf8[end]) >= 0x80) ++end;
    append_nfkc(out, utf8.substr(begin, end - begin));
    i = end;
  }
  out.append(utf8.data() + i, utf8.size() - i);
  return out;
}

std::string lowercase(std::string_view utf8) {
  check_valid(utf8, "lowercase");
  std::string out(utf8);
  size_t i = 0;
  for (; i < out.size() && static_cast<unsigned char>(out[i]) < 0x80; ++i) {
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] + ('a' - 'A'));
  }
  if (i == out.size()) return out;
  // Lower-case forms may be longer or shorter in UTF-8 (U+023A -> U+2C65), so the rest is rebuilt.
  out.resize(i);
  while (i < utf8.size()) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      ++i;
    } else {
      const char32_t cp = next_code_point(utf8, &i);
      append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
  }
  return out;
}

}  // namespace attn::text
