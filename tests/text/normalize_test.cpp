#include "attn/text/normalize.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>

#include "support/test_util.h"

namespace attn::text {
namespace {

using attn::testing::expect_error;

TEST(TextNormalize, Nfkc) {
  EXPECT_EQ(nfkc("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93"),
            "ABC123");                                                      // ＡＢＣ１２３
  EXPECT_EQ(nfkc("\xEF\xAC\x81"), "fi");                                    // ﬁ ligature
  EXPECT_EQ(nfkc("\xE2\x91\xA0"), "1");                                     // ①
  EXPECT_EQ(nfkc("\xEF\xBD\xB6"), "\xE3\x82\xAB");                          // half-width ｶ -> カ
  EXPECT_EQ(nfkc("\xE3\x80\x80"), " ");                                     // ideographic space
  EXPECT_EQ(nfkc("\xEF\xBC\x81"), "!");                                     // ！
  EXPECT_EQ(nfkc("cafe\xCC\x81 ok"), "caf\xC3\xA9 ok");                     // e + combining acute composes
  EXPECT_EQ(nfkc("\xE4\xB8\xAD\xE6\x96\x87"), "\xE4\xB8\xAD\xE6\x96\x87");  // 中文 unchanged
  EXPECT_EQ(nfkc(""), "");
  EXPECT_EQ(nfkc("plain ASCII, unchanged."), "plain ASCII, unchanged.");
  expect_error([] { nfkc("abc\xC0\x80"); }, {"nfkc", "byte 3"});
}

TEST(TextNormalize, Lowercase) {
  EXPECT_EQ(lowercase("Hello WORLD 123!"), "hello world 123!");
  EXPECT_EQ(lowercase("\xC3\x89"
                      "COLE"),
            "\xC3\xA9"
            "cole");  // ÉCOLE
  EXPECT_EQ(lowercase("\xCE\x91\xCE\x98\xCE\x97\xCE\x9D\xCE\x91"),
            "\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1");  // ΑΘΗΝΑ
  EXPECT_EQ(lowercase("\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90"),
            "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0");  // МОСКВА
  EXPECT_EQ(lowercase("Stra\xC3\x9F"
                      "E"),
            "stra\xC3\x9F"
            "e");                                        // ß stays
  EXPECT_EQ(lowercase("\xEF\xBC\xA1"), "\xEF\xBD\x81");  // Ａ -> ａ
  EXPECT_EQ(lowercase("\xE4\xB8\xAD"), "\xE4\xB8\xAD");
  EXPECT_EQ(lowercase(""), "");
  expect_error([] { lowercase("A\xED\xA0\x80"); }, {"lowercase", "byte 1"});
}

TEST(TextNormalize, NfkcPiecewiseMatchesWholeText) {
  // nfkc() sends only the non-ASCII runs to utf8proc; the result must equal utf8proc on the whole text.
  const std::string pieces[] = {"a",
                                "e",
                                "A",
                                " ",
                                ".",
                                "\xCC\x81",
                                "\xCC\xA3",
                                "\xCD\x84",  // combining marks, U+0344
                                "\xC3\xA9",
                                "\xEF\xAC\x81",
                                "\xEF\xBC\xA1",
                                "\xE1\x84\x80",
                                "\xE1\x85\xA1",  // Hangul jamo
                                "\xE1\x86\xA8",
                                "\xEA\xB0\x80",
                                "\xE2\x84\xAB",
                                "\xE3\x8D\xBB",
                                "\xE4\xB8\xAD",
                                "\xE2\x91\xA0"};
  for (int trial = 0; trial < 5000; ++trial) {
    std::string s;
    for (int k = static_cast<int>(attn::testing::random_int(0, 16)); k > 0; --k)
      s += pieces[attn::testing::random_int(0, 18)];
    utf8proc_uint8_t* whole = utf8proc_NFKC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
    ASSERT_NE(whole, nullptr);
    const std::string want(reinterpret_cast<const char*>(whole));
    std::free(whole);
    ASSERT_EQ(nfkc(s), want) << ::testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace attn::text
