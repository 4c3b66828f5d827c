// UTF-8 validation, decoding and encoding, plus the "does this script write without spaces?" test that the
// word tokenizer uses. Everything else in attn::text assumes valid UTF-8: readers check once with
// find_invalid_utf8, so the hot loops never have to.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn::text {

// Offset of the first byte of the first ill-formed sequence (stray continuation byte, overlong form, surrogate,
// code point above U+10FFFF, sequence cut short by the end or by another lead byte), or nullopt if `s` is valid.
// ASCII runs are skipped 32 bytes at a time.
std::optional<size_t> find_invalid_utf8(std::string_view s);

// Code points of `valid`; throws attn::Error (with the offset) if it is not valid UTF-8.
std::vector<char32_t> decode_utf8(std::string_view valid);

// Decodes the code point starting at *pos of a string already known to be valid, and moves *pos past it.
inline char32_t next_code_point(std::string_view valid, size_t* pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(valid.data()) + *pos;
  if (p[0] < 0x80) {
    *pos += 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    *pos += 2;
    return (char32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (p[0] < 0xF0) {
    *pos += 3;
    return (char32_t(p[0] & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  *pos += 4;
  return (char32_t(p[0] & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

// Appends the UTF-8 form of `cp`; throws attn::Error for surrogates and values above U+10FFFF.
void append_utf8(std::string& out, char32_t cp);

// Separators for cleaning and tokenising: Unicode White_Space, the other C0/C1 control characters, the
// zero-width space and the byte-order mark.
inline bool is_space(char32_t cp) {
  if (cp < 0x80) return cp <= 0x20 || cp == 0x7F;
  return cp <= 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

// Characters of scripts written without spaces between words, which the word tokenizer splits one per token:
// Han (CJK unified ideographs, extensions A to G, compatibility ideographs, radicals, 々 and 〇), Hiragana,
// Katakana (with the phonetic extensions and the half-width forms) and Bopomofo. Hangul is left out on purpose:
// Korean puts spaces between words, so its syllables are treated as letters.
bool is_cjk(char32_t cp);

}  // namespace attn::text
