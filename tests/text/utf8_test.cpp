#include "attn/text/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "support/test_util.h"

namespace attn::text {
namespace {

using attn::testing::expect_error;
using attn::testing::random_int;

// Decodes byte by byte the textbook way (value first, then the overlong / surrogate / range checks), independent
// of the table-driven validator.
std::optional<size_t> reference_invalid(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0) return i;
    uint32_t value = c & (0xFF >> (len + (len > 1)));
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return i;
      value = (value << 6) | (d & 0x3F);
    }
    const uint32_t min_value[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < min_value[len] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return i;
    i += len;
  }
  return std::nullopt;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s += static_cast<char>(x);
  return s;
}

TEST(TextUtf8, KnownInvalidSequences) {
  struct Case {
    std::string text;
    size_t offset;
  };
  const Case cases[] = {
      {bytes({0xC0, 0x80}), 0},                            // overlong NUL
      {bytes({0xC1, 0xBF}), 0},                            // overlong
      {std::string("ab") + bytes({0xE0, 0x80, 0x80}), 2},  // overlong 3-byte
      {bytes({0xF0, 0x80, 0x80, 0x80}), 0},                // overlong 4-byte
      {std::string("x") + bytes({0xED, 0xA0, 0x80}), 1},   // surrogate U+D800
      {bytes({0xED, 0xBF, 0xBF}), 0},                      // surrogate U+DFFF
      {bytes({0xF4, 0x90, 0x80, 0x80}), 0},                // U+110000
      {bytes({0xF5, 0x80, 0x80, 0x80}), 0},                // lead byte beyond F4
      {bytes({0xFF}), 0},
      {std::string("abc") + bytes({0x80}), 3},              // stray continuation byte
      {std::string("abc") + bytes({0xE4, 0xB8}), 3},        // truncated at the end
      {std::string("abc") + bytes({0xF0, 0x9F, 0x98}), 3},  // truncated at the end
      {bytes({0xE4, 0xB8, 0x41}), 0},                       // cut short by ASCII
      {bytes({0xC3, 0xC3, 0xA9}), 0},                       // cut short by another lead byte
      {std::string("\xC3\xA9") + bytes({0xC3}), 2},
  };
  for (const auto& c : cases) {
    const auto got = find_invalid_utf8(c.text);
    ASSERT_TRUE(got.has_value()) << ::testing::PrintToString(c.text);
    EXPECT_EQ(*got, c.offset) << ::testing::PrintToString(c.text);
    EXPECT_EQ(reference_invalid(c.text), got);
  }
  EXPECT_EQ(find_invalid_utf8(""), std::nullopt);
  EXPECT_EQ(find_invalid_utf8(bytes({0xED, 0x9F, 0xBF})), std::nullopt);        // U+D7FF
  EXPECT_EQ(find_invalid_utf8(bytes({0xEE, 0x80, 0x80})), std::nullopt);        // U+E000
  EXPECT_EQ(find_invalid_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})), std::nullopt);  // U+10FFFF
  EXPECT_EQ(find_invalid_utf8(std::string("a\0b", 3)), std::nullopt);
}

TEST(TextUtf8, BadByteAtEveryOffsetOfLongAscii) {
  // The 32-byte ASCII fast path must not skip a bad byte wherever it sits.
  for (size_t pos = 0; pos < 100; ++pos) {
    std::string s(100, 'a');
    s[pos] = static_cast<char>(0x80);
    EXPECT_EQ(find_invalid_utf8(s), pos);
    s[pos] = static_cast<char>(0xE4);  // truncated by the following ASCII
    EXPECT_EQ(find_invalid_utf8(s), pos);
  }
}

TEST(TextUtf8, MatchesReferenceOnRandomBytes) {
  const std::string pieces[] = {
      "a", "hello world ", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", std::string(40, 'x')};
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s;
    const int n = static_cast<int>(random_int(0, 12));
    for (int k = 0; k < n; ++k) {
      const bool any_byte = random_int(0, 3) == 0;
      s += any_byte ? std::string(1, static_cast<char>(random_int(0, 255))) : pieces[random_int(0, 5)];
    }
    ASSERT_EQ(find_invalid_utf8(s), reference_invalid(s)) << ::testing::PrintToString(s);
  }
}

TEST(TextUtf8, EncodesAndDecodesEveryCodePoint) {
  EXPECT_EQ(
      [] {
        std::string s;
        append_utf8(s, 0xE9);
        return s;
      }(),
      "\xC3\xA9");
  EXPECT_EQ(
      [] {
        std::string s;
        append_utf8(s, 0x4E2D);
        return s;
      }(),
      "\xE4\xB8\xAD");
  EXPECT_EQ(
      [] {
        std::string s;
        append_utf8(s, 0x1F600);
        return s;
      }(),
      "\xF0\x9F\x98\x80");
  std::string all;
  std::vector<char32_t> expected;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    append_utf8(all, cp);
    expected.push_back(cp);
  }
  EXPECT_EQ(find_invalid_utf8(all), std::nullopt);
  EXPECT_EQ(reference_invalid(all), std::nullopt);
  EXPECT_EQ(decode_utf8(all), expected);
  expect_error(
      [] {
        std::string s;
        append_utf8(s, 0xD800);
      },
      {"D800"});
  expect_error(
      [] {
        std::string s;
        append_utf8(s, 0x110000);
      },
      {"110000"});
  expect_error([] { decode_utf8("ab\xFF"); }, {"byte 2"});
}

TEST(TextUtf8, CjkRanges) {
  for (const char32_t cp :
       std::initializer_list<char32_t>{0x4E2D, 0x9FFF, 0x3400, 0x20000, 0x2A6D6, 0x2B740, 0x2CEB0, 0x30000, 0xF900,
                                       0x2F800, 0x3042, 0x30AB, 0xFF76, 0x3105, 0x3005}) {
    EXPECT_TRUE(is_cjk(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  // Latin, Hangul (Korean has spaces), CJK punctuation and full-width forms are not.
  for (const char32_t cp : std::initializer_list<char32_t>{'a', '1', 0xE9, 0xD55C, 0x1100, 0x3002, 0x3001, 0xFF01,
                                                           0xFF21, 0x2E7F, 0x1F600}) {
    EXPECT_FALSE(is_cjk(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
}

TEST(TextUtf8, SpaceClass) {
  for (const char32_t cp : std::initializer_list<char32_t>{' ', '\t', '\n', '\r', 0x0B, 0x0C, 0x00, 0x7F, 0x85, 0xA0,
                                                           0x3000, 0x2003, 0x200B, 0x2028, 0xFEFF}) {
    EXPECT_TRUE(is_space(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  for (const char32_t cp : std::initializer_list<char32_t>{'a', '!', 0xE9, 0x4E2D, 0x200D, 0xFF01})
    EXPECT_FALSE(is_space(cp));
}

}  // namespace
}  // namespace attn::text
