#include "attn/text/clean.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "attn/text/utf8.h"
#include "support/test_util.h"

namespace attn::text {
namespace {

using attn::testing::expect_error;
using attn::testing::random_int;

std::string clean(std::string_view s) { return clean_text(s, CleanOptions{}); }

TEST(TextClean, ImdbReview) {
  const std::string review =
      "This movie was GREAT!<br /><br />I'd give it 10/10 &amp; more.<br />See "
      "http://www.imdb.com/title/tt0111161/. Mail me: John.Doe@Example.com";
  EXPECT_EQ(clean(review), "this movie was great! i'd give it 10/10 & more. see <url> . mail me: <email>");
}

TEST(TextClean, Markup) {
  EXPECT_EQ(clean("x<br>y<BR/>z"), "x y z");
  EXPECT_EQ(clean("<a href=\"http://x.com/?a>b\" class='c'>the link</a>!"), "the link !");
  EXPECT_EQ(clean("<p>one</p><p>two</p>"), "one two");
  EXPECT_EQ(clean("before<!-- a <b> comment -->after"), "before after");
  EXPECT_EQ(clean("<!DOCTYPE html><?xml version=\"1.0\"?>text"), "text");
  // Not tags: comparisons, hearts, an unclosed bracket.
  EXPECT_EQ(clean("a < b and c > d, I <3 it, x <y"), "a < b and c > d, i <3 it, x <y");
  EXPECT_EQ(clean("<!-- never closed"), "<!-- never closed");
  EXPECT_EQ(clean("<!-- <!-- one --> a <!-- two --> b"), "a b");
  EXPECT_EQ(clean("<!--" + std::string(5000, 'x') + "-->b"), "<!--" + std::string(5000, 'x') + "-->b");
  CleanOptions keep;
  keep.strip_markup = false;
  EXPECT_EQ(clean_text("a<br />b &amp; c", keep), "a<br />b &amp; c");
}

TEST(TextClean, Entities) {
  EXPECT_EQ(clean("&lt;3 &quot;quoted&quot; &#39;single&#39; &#x4E2D;&#25991; caf&eacute; a&nbsp;b &mdash;"),
            "<3 \"quoted\" 'single' \xE4\xB8\xAD\xE6\x96\x87 caf\xC3\xA9 a b \xE2\x80\x94");
  // Not entities, or not valid ones: left as they are.
  EXPECT_EQ(clean("Q&A, &bogus; &#0; &#xD800; &#1114112; & ;"), "q&a, &bogus; &#0; &#xd800; &#1114112; & ;");
  // Decoded once: &amp;lt; is the text "&lt;".
  EXPECT_EQ(clean("&amp;lt;"), "&lt;");
}

TEST(TextClean, UrlsAndEmails) {
  EXPECT_EQ(clean("go to www.Example.com/path?q=1, or HTTPS://x.org."), "go to <url> , or <url> .");
  EXPECT_EQ(clean("(see http://a.b/c)"), "(see <url> )");
  EXPECT_EQ(clean("http://"), "http://");    // a scheme alone is not a URL
  EXPECT_EQ(clean("awww.yes"), "awww.yes");  // not at a word start
  EXPECT_EQ(clean("\xE7\x9C\x8B"
                  "http://t.cn/abc"
                  "\xE5\xBE\x88"),
            "\xE7\x9C\x8B <url> \xE5\xBE\x88");
  EXPECT_EQ(clean("write to a.b+c@mail.co.uk."), "write to <email> .");
  EXPECT_EQ(clean("me@localhost x@y.1 @home a@"), "me@localhost x@y.1 @home a@");
  CleanOptions off;
  off.replace_urls = false;
  off.replace_emails = false;
  EXPECT_EQ(clean_text("www.x.com a@b.com", off), "www.x.com a@b.com");
}

TEST(TextClean, Numbers) {
  CleanOptions o;
  o.replace_numbers = true;
  EXPECT_EQ(clean_text("I paid 1,000.50 for 2 mp3 players in the 1980s, 3.5/10", o),
            "i paid <num> for <num> mp3 players in the 1980s, <num> / <num>");
  EXPECT_EQ(clean_text("\xEF\xBC\x95\xE6\x98\x9F", o), "<num> \xE6\x98\x9F");  // full-width ５星 -> <num> 星
  EXPECT_EQ(clean("10/10"), "10/10");                                          // off by default
}

TEST(TextClean, WhitespaceAndUnicode) {
  EXPECT_EQ(clean("  a\t\tb\n\nc\xE3\x80\x80"
                  "d\xC2\xA0"
                  "e\r\n "),
            "a b c d e");
  CleanOptions raw;
  raw.nfkc = false;
  raw.lowercase = false;
  EXPECT_EQ(clean_text("\xEF\xBB\xBF"
                       "A\xE2\x80\x83"
                       "B\xE2\x80\x8B"
                       "C\x01"
                       "D\xC2\x85",
                       raw),
            "A B C D");
  EXPECT_EQ(clean("\xEF\xBC\xA7\xEF\xBC\xB2\xEF\xBC\xA5\xEF\xBC\xA1\xEF\xBC\xB4\xE3\x80\x80\xEF\xBD\x8D\xEF\xBD\x8F"),
            "great mo");  // ＧＲＥＡＴ　ｍｏ
  // ChnSentiCorp-style: full-width punctuation becomes ASCII, 。 stays.
  EXPECT_EQ(
      clean("\xE8\xBF\x99\xE5\xAE\xB6\xE9\x85\x92\xE5\xBA\x97\xE5\xBE\x88\xE5\xA5\xBD\xEF\xBC\x81\xEF\xBC\x8C"
            "\xE6\x9C\x8D\xE5\x8A\xA1\xE3\x80\x82"),
      "\xE8\xBF\x99\xE5\xAE\xB6\xE9\x85\x92\xE5\xBA\x97\xE5\xBE\x88\xE5\xA5\xBD!,\xE6\x9C\x8D\xE5\x8A\xA1\xE3\x80\x82");
  EXPECT_EQ(clean(""), "");
  EXPECT_EQ(clean(" \n\t "), "");
  CleanOptions none{false, false, false, false, false, false};
  EXPECT_EQ(clean_text(" Keep <b>THIS</b> &amp; www.x.com ", none), "Keep <b>THIS</b> &amp; www.x.com");
  expect_error([] { clean("ok\xF4\x90\x80\x80"); }, {"clean_text", "byte 2"});
}

TEST(TextClean, RandomTextGivesTidyOutput) {
  const std::string pieces[] = {"a",
                                "B",
                                " ",
                                "\t",
                                "\n",
                                "<",
                                ">",
                                "&",
                                "amp;",
                                "#39;",
                                "@",
                                ".",
                                "com",
                                "7",
                                ",",
                                "www",
                                "http",
                                "://",
                                "br /",
                                "\xE4\xB8\xAD",
                                "\xEF\xBC\xA1",
                                "\xC2\xA0",
                                "\xE3\x80\x80",
                                "\xCC\x81",
                                "\xEF\xAC\x81",
                                "'"};
  CleanOptions o;
  o.replace_numbers = true;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s;
    for (int k = static_cast<int>(random_int(0, 30)); k > 0; --k) s += pieces[random_int(0, 25)];
    const std::string out = clean_text(s, o);
    ASSERT_EQ(find_invalid_utf8(out), std::nullopt) << s;
    ASSERT_EQ(out.find("  "), std::string::npos) << s;
    if (!out.empty()) {
      ASSERT_NE(out.front(), ' ') << s;
      ASSERT_NE(out.back(), ' ') << s;
    }
    for (const char32_t cp : decode_utf8(out)) ASSERT_TRUE(cp == ' ' || !is_space(cp)) << s;
  }
}

TEST(TextClean, PathologicalInputStaysFast) {
  // Unclosed comments, tags and entities, and URL or e-mail look-alikes, repeated: a scan that restarted at each
  // one to the end of the text would take minutes here.
  CleanOptions o;
  o.replace_numbers = true;
  for (const std::string unit : {"<!--", "<a b='", "&#", "&amp", "http://-", "www.-", "a@", "a@b.", "1.", "<x"}) {
    std::string s;
    while (s.size() < 400000) s += unit;
    const std::string out = clean_text(s, o);
    EXPECT_FALSE(out.empty()) << unit;
  }
}

TEST(TextClean, OptionsJson) {
  CleanOptions o;
  o.lowercase = false;
  o.replace_numbers = true;
  const nlohmann::json j = to_json(o);
  EXPECT_EQ(j.size(), 6u);
  EXPECT_EQ(j.at("lowercase"), false);
  EXPECT_EQ(j.at("replace_numbers"), true);
  const CleanOptions back = clean_options_from_json(j);
  EXPECT_EQ(to_json(back), j);
  const CleanOptions partial = clean_options_from_json(nlohmann::json::parse(R"({"nfkc": false})"));
  EXPECT_FALSE(partial.nfkc);
  EXPECT_TRUE(partial.lowercase);
  EXPECT_TRUE(partial.strip_markup);
  EXPECT_FALSE(partial.replace_numbers);
  EXPECT_EQ(to_json(clean_options_from_json(nlohmann::json::object())), to_json(CleanOptions{}));
  expect_error([] { clean_options_from_json(nlohmann::json::parse(R"({"lower_case": true})")); },
               {"unknown key 'lower_case'", "lowercase"});
  expect_error([] { clean_options_from_json(nlohmann::json::parse(R"({"nfkc": 1})")); }, {"'nfkc'", "true or false"});
  expect_error([] { clean_options_from_json(nlohmann::json::parse("[]")); }, {"object"});
}

}  // namespace
}  // namespace attn::text
