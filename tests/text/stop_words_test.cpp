#include "attn/text/stop_words.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace attn::text {
namespace {

using Tokens = std::vector<std::string>;

TEST(TextStopWords, Lists) {
  const auto& en = stop_words("en");
  EXPECT_GE(en.size(), 150u);
  for (const char* w : {"the", "a", "and", "is", "it's", "i'm", "of", "was"}) EXPECT_TRUE(en.count(w)) << w;
  // Negations matter for sentiment and are kept out.
  for (const char* w : {"not", "no", "nor", "don't", "isn't", "wasn't", "won't", "didn", "ain"}) {
    EXPECT_FALSE(en.count(w)) << w;
  }
  const auto& zh = stop_words("zh");
  EXPECT_GE(zh.size(), 200u);
  for (const char* w : {"\xE7\x9A\x84", "\xE4\xBA\x86", "\xE5\x92\x8C", "\xE6\x98\xAF", "\xE6\x88\x91\xE4\xBB\xAC"}) {
    EXPECT_TRUE(zh.count(w)) << w;  // 的 了 和 是 我们
  }
  for (const char* w : {"\xE4\xB8\x8D", "\xE6\xB2\xA1", "\xE6\xB2\xA1\xE6\x9C\x89", "\xE6\x97\xA0", "\xE5\x88\xAB"}) {
    EXPECT_FALSE(zh.count(w)) << w;  // 不 没 没有 无 别
  }
  for (const auto& w : en) EXPECT_EQ(w.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ "), std::string::npos) << w;
  attn::testing::expect_error([] { stop_words("fr"); }, {"'fr'", "en, zh"});
}

TEST(TextStopWords, Remove) {
  EXPECT_EQ(remove_stop_words({"this", "movie", "is", "not", "good", ",", "the", "end"}, stop_words("en")),
            (Tokens{"movie", "not", "good", ",", "end"}));
  EXPECT_EQ(remove_stop_words({}, stop_words("en")), Tokens{});
  EXPECT_EQ(remove_stop_words({"the", "a"}, stop_words("en")), Tokens{});
  // 房间 的 确 不 干净 -> 的 goes, 不 stays.
  EXPECT_EQ(remove_stop_words({"\xE6\x88\xBF", "\xE7\x9A\x84", "\xE4\xB8\x8D", "\xE5\xB9\xB2"}, stop_words("zh")),
            (Tokens{"\xE6\x88\xBF", "\xE4\xB8\x8D", "\xE5\xB9\xB2"}));
}

}  // namespace
}  // namespace attn::text
