#include "data/utf8_check.h"

#include <gtest/gtest.h>

#include <string>

#include "support/test_util.h"

namespace attn::data::detail {
namespace {

// A plain decoder that computes each code point and then applies RFC 3629's rules.
size_t reference_first_invalid(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string encode(uint32_t cp) {
  std::string out;
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
  return out;
}

TEST(Utf8Check, KnownCases) {
  EXPECT_EQ(first_invalid_utf8(""), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("plain ascii text, longer than eight bytes"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("abc\xC0\xAF"), 3u);              // overlong '/'
  EXPECT_EQ(first_invalid_utf8("abcdefghij\xED\xA0\x80"), 10u);  // surrogate
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);         // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ok\xE4\xB8"), 2u);               // cut short
  EXPECT_EQ(first_invalid_utf8("\x80"), 0u);                     // lone continuation
  EXPECT_EQ(first_invalid_utf8("\xFF"), 0u);
}

TEST(Utf8Check, MatchesReferenceOnRandomText) {
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    const int64_t pieces = attn::testing::random_int(0, 40);
    for (int64_t k = 0; k < pieces; ++k) {
      switch (attn::testing::random_int(0, 5)) {
        case 0:
          s += static_cast<char>(attn::testing::random_int(0, 255));
          break;  // any byte
        case 1:
          s += encode(static_cast<uint32_t>(attn::testing::random_int(0x80, 0x7FF)));
          break;
        case 2:
          s += encode(static_cast<uint32_t>(attn::testing::random_int(0x800, 0xFFFF)));
          break;  // surrogates too
        case 3:
          s += encode(static_cast<uint32_t>(attn::testing::random_int(0x10000, 0x10FFFF)));
          break;
        default:
          s += std::string(static_cast<size_t>(attn::testing::random_int(1, 20)), 'a');
          break;
      }
    }
    if (round % 4 == 0 && !s.empty()) s.pop_back();  // cut a sequence short now and then
    ASSERT_EQ(first_invalid_utf8(s), reference_first_invalid(s)) << "round " << round;
  }
}

}  // namespace
}  // namespace attn::data::detail
