#include "attn/text/utf8.h"

#include <cstdint>
#include <cstring>

#include "attn/core/error.h"

namespace attn::text {
namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the well-formed sequence at s[i] (Unicode 15, table 3-7), or 0 if it is ill-formed.
size_t sequence_length(const unsigned char* s, size_t i, size_t n) {
  const unsigned char c = s[i];
  const size_t left = n - i;
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;  // continuation byte or overlong two-byte form
  if (c < 0xE0) return left >= 2 && is_continuation(s[i + 1]) ? 2 : 0;
  if (c < 0xF0) {
    if (left < 3 || !is_continuation(s[i + 2])) return 0;
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F: overlong
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;  // ED A0..BF: surrogates
    return s[i + 1] >= lo && s[i + 1] <= hi ? 3 : 0;
  }
  if (c < 0xF5) {
    if (left < 4 || !is_continuation(s[i + 2]) || !is_continuation(s[i + 3])) return 0;
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;  // F0 80..8F: overlong
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;  // F4 90..BF: above U+10FFFF
    return s[i + 1] >= lo && s[i + 1] <= hi ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view str) {
  const auto* s = reinterpret_cast<const unsigned char*>(str.data());
  const size_t n = str.size();
  size_t i = 0;
  while (i < n) {
    // Most text is ASCII: test 32 bytes at a time for a set high bit (the compiler vectorises the OR).
    while (i + 32 <= n) {
      uint64_t w[4];
      std::memcpy(w, s + i, 32);
      if (((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull) != 0) break;
      i += 32;
    }
    const size_t end = i + 32 < n ? i + 32 : n;
    while (i < end) {
      const size_t len = sequence_length(s, i, n);
      if (len == 0) return i;
      i += len;
    }
  }
  return std::nullopt;
}

std::vector<char32_t> decode_utf8(std::string_view valid) {
  const auto bad = find_invalid_utf8(valid);
  ATTN_CHECK(!bad, "decode_utf8: invalid UTF-8 at byte {}", *bad);
  std::vector<char32_t> out;
  out.reserve(valid.size());
  for (size_t i = 0; i < valid.size();) out.push_back(next_code_point(valid, &i));
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  ATTN_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), "append_utf8: U+{:04X} is not a Unicode scalar value",
             static_cast<uint32_t>(cp));
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_cjk(char32_t cp) {
  if (cp < 0x2E80) return false;
  if (cp < 0xA000) {
    return cp <= 0x2FDF ||                    // CJK radicals supplement, Kangxi radicals
           cp == 0x3005 || cp == 0x3007 ||    // 々 〇
           (cp >= 0x3040 && cp <= 0x30FF) ||  // Hiragana, Katakana
           (cp >= 0x3100 && cp <= 0x312F) ||  // Bopomofo
           (cp >= 0x31A0 && cp <= 0x31BF) ||  // Bopomofo extended
           (cp >= 0x31F0 && cp <= 0x31FF) ||  // Katakana phonetic extensions
           (cp >= 0x3400 && cp <= 0x4DBF) ||  // extension A
           cp >= 0x4E00;                      // unified ideographs (to U+9FFF)
  }
  return (cp >= 0xF900 && cp <= 0xFAFF) ||    // compatibility ideographs
         (cp >= 0xFF66 && cp <= 0xFF9F) ||    // half-width Katakana
         (cp >= 0x20000 && cp <= 0x2FA1F) ||  // extensions B to F, compatibility supplement
         (cp >= 0x30000 && cp <= 0x3134F);    // extension G
}

}  // namespace attn::text
