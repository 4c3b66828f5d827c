#include "attn/text/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "attn/io/atomic_file.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::text {
namespace {

using attn::testing::expect_error;
using attn::testing::TempDir;
using Tokens = std::vector<std::string>;
using Spans = std::vector<std::pair<size_t, size_t>>;

// Tokens must be exactly the bytes their spans point at (for words and chars), in order, without overlaps.
void expect_spans_match(const Tokenizer& tok, const std::string& text) {
  Spans spans;
  const Tokens tokens = tok.tokenize(text, &spans);
  ASSERT_EQ(tokens.size(), spans.size()) << text;
  size_t prev_end = 0;
  for (size_t k = 0; k < tokens.size(); ++k) {
    EXPECT_LE(prev_end, spans[k].first) << text;
    EXPECT_LT(spans[k].first, spans[k].second) << text;
    EXPECT_EQ(text.substr(spans[k].first, spans[k].second - spans[k].first), tokens[k]) << text;
    prev_end = spans[k].second;
  }
  EXPECT_EQ(tok.tokenize(text), tokens);
}

TEST(TextTokenizer, WordsEnglish) {
  const Tokenizer tok = Tokenizer::words();
  EXPECT_EQ(tok.kind(), TokenizerKind::Words);
  EXPECT_EQ(tok.tokenize("i don't like it, 'really' -- at all!!! see <url> ."),
            (Tokens{"i", "don't", "like", "it", ",", "'", "really", "'", "-", "-", "at", "all", "!", "!", "!", "see",
                    "<url>", "."}));
  EXPECT_EQ(tok.tokenize("a well-known rock'n'roll film: 3.5 stars, 1,000 votes; -end- x.y"),
            (Tokens{"a", "well-known", "rock'n'roll", "film", ":", "3.5", "stars", ",", "1,000", "votes", ";", "-",
                    "end", "-", "x", ".", "y"}));
  EXPECT_EQ(tok.tokenize("<num><email> <3 a<b <URL> <>"),
            (Tokens{"<num>", "<email>", "<", "3", "a", "<", "b", "<", "URL", ">", "<", ">"}));
  EXPECT_EQ(tok.tokenize("don\xE2\x80\x99t snake_case"), (Tokens{"don\xE2\x80\x99t", "snake_case"}));
  EXPECT_EQ(tok.tokenize(""), Tokens{});
  EXPECT_EQ(tok.tokenize("   "), Tokens{});
}

TEST(TextTokenizer, WordsChineseAndMixed) {
  const Tokenizer tok = Tokenizer::words();
  // 这家酒店很好！
  EXPECT_EQ(tok.tokenize("\xE8\xBF\x99\xE5\xAE\xB6\xE9\x85\x92\xE5\xBA\x97\xE5\xBE\x88\xE5\xA5\xBD\xEF\xBC\x81"),
            (Tokens{"\xE8\xBF\x99", "\xE5\xAE\xB6", "\xE9\x85\x92", "\xE5\xBA\x97", "\xE5\xBE\x88", "\xE5\xA5\xBD",
                    "\xEF\xBC\x81"}));
  // 我爱iPhone手机 and café
  EXPECT_EQ(tok.tokenize("\xE6\x88\x91\xE7\x88\xB1iPhone\xE6\x89\x8B\xE6\x9C\xBA and caf\xC3\xA9"),
            (Tokens{"\xE6\x88\x91", "\xE7\x88\xB1", "iPhone", "\xE6\x89\x8B", "\xE6\x9C\xBA", "and", "caf\xC3\xA9"}));
  // Japanese kana are per character too; Korean words stay whole.
  EXPECT_EQ(tok.tokenize("\xE3\x81\x99\xE3\x81\x94\xE3\x81\x84"),
            (Tokens{"\xE3\x81\x99", "\xE3\x81\x94", "\xE3\x81\x84"}));
  EXPECT_EQ(tok.tokenize("\xEC\xA0\x95\xEB\xA7\x90 \xEC\xA2\x8B\xEC\x95\x84\xEC\x9A\x94!"),
            (Tokens{"\xEC\xA0\x95\xEB\xA7\x90", "\xEC\xA2\x8B\xEC\x95\x84\xEC\x9A\x94", "!"}));
}

TEST(TextTokenizer, WordsMarksAndSymbols) {
  const Tokenizer tok = Tokenizer::words();
  EXPECT_EQ(tok.tokenize("cafe\xCC\x81!"), (Tokens{"cafe\xCC\x81", "!"}));  // combining acute
  EXPECT_EQ(tok.tokenize("\xE2\x9D\xA4\xEF\xB8\x8F it"), (Tokens{"\xE2\x9D\xA4\xEF\xB8\x8F", "it"}));  // ❤️
  EXPECT_EQ(tok.tokenize("ok\xF0\x9F\x91\x8D\xF0\x9F\x91\x8D"), (Tokens{"ok", "\xF0\x9F\x91\x8D", "\xF0\x9F\x91\x8D"}));
  EXPECT_EQ(tok.tokenize("\xC2\xAB"
                         "bien\xC2\xBB \xE2\x80\x94 s\xC3\xAD"),
            (Tokens{"\xC2\xAB", "bien", "\xC2\xBB", "\xE2\x80\x94", "s\xC3\xAD"}));
  EXPECT_EQ(tok.tokenize("\xCC\x81"
                         "a"),
            (Tokens{"\xCC\x81", "a"}));  // a leading mark stands alone
}

TEST(TextTokenizer, Chars) {
  const Tokenizer tok = Tokenizer::chars();
  EXPECT_EQ(tok.kind(), TokenizerKind::Chars);
  EXPECT_EQ(tok.tokenize("ab c\xE4\xB8\xAD\xEF\xBC\x81\xE3\x80\x80."),
            (Tokens{"a", "b", "c", "\xE4\xB8\xAD", "\xEF\xBC\x81", "."}));
  EXPECT_EQ(tok.tokenize(""), Tokens{});
}

TEST(TextTokenizer, SpansPointAtTheirBytes) {
  const std::string texts[] = {
      "i don't like it, 'really' -- at all!!! see <url> .",
      "\xE6\x88\x91\xE7\x88\xB1iPhone\xE6\x89\x8B\xE6\x9C\xBA and caf\xC3\xA9 cafe\xCC\x81 \xE2\x9D\xA4\xEF\xB8\x8F",
      "  leading and trailing  ",
      "\xE8\xBF\x99\xE5\xAE\xB6\xE9\x85\x92\xE5\xBA\x97\xE5\xBE\x88\xE5\xA5\xBD\xEF\xBC\x81",
  };
  for (const auto& t : texts) {
    expect_spans_match(Tokenizer::words(), t);
    expect_spans_match(Tokenizer::chars(), t);
  }
  Spans spans{{9, 9}};
  EXPECT_EQ(Tokenizer::words().tokenize("  ab  c", &spans), (Tokens{"ab", "c"}));
  EXPECT_EQ(spans, (Spans{{2, 4}, {6, 7}}));  // replaced, not appended
}

TEST(TextTokenizer, RandomTextSpans) {
  const std::string pieces[] = {"a",
                                "Z",
                                "9",
                                " ",
                                "'",
                                "-",
                                ".",
                                ",",
                                "<",
                                ">",
                                "url",
                                "\xE4\xB8\xAD",
                                "\xC3\xA9",
                                "\xCC\x81",
                                "\xF0\x9F\x91\x8D",
                                "\xE3\x80\x80",
                                "!",
                                "\xE2\x80\x99",
                                "_"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string s;
    for (int k = static_cast<int>(attn::testing::random_int(0, 20)); k > 0; --k)
      s += pieces[attn::testing::random_int(0, 18)];
    expect_spans_match(Tokenizer::words(), s);
    expect_spans_match(Tokenizer::chars(), s);
    if (::testing::Test::HasFailure()) FAIL() << "text: " << s;
  }
}

TEST(TextTokenizer, KindNames) {
  for (const auto k : {TokenizerKind::Words, TokenizerKind::Chars, TokenizerKind::SentencePiece}) {
    EXPECT_EQ(tokenizer_kind_from_string(to_string(k)), k);
  }
  EXPECT_EQ(to_string(TokenizerKind::SentencePiece), "sentencepiece");
  expect_error([] { tokenizer_kind_from_string("bpe"); }, {"'bpe'", "words, chars, sentencepiece"});
}

// A few hundred sentences over a small morphology, so subwords (stems, suffixes) pay off.
std::vector<std::string> synthetic_corpus(int n, uint64_t seed) {
  const char* stems[] = {"play",  "watch", "love", "hate",    "act",   "direct",    "enjoy",
                         "bor",   "excit", "film", "movie",   "story", "music",     "scene",
                         "laugh", "cr",    "writ", "perform", "amaz",  "disappoint"};
  const char* suffixes[] = {"", "s", "ed", "ing", "er", "ers", "able", "ly"};
  std::mt19937_64 g(seed);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    const int words = 4 + static_cast<int>(g() % 9);
    for (int w = 0; w < words; ++w) {
      if (w) s += ' ';
      s += stems[g() % 20];
      s += suffixes[g() % 8];
      if (g() % 25 == 0) s += " <url>";
    }
    s += g() % 2 ? " !" : " .";
    out.push_back(s);
  }
  return out;
}

// What a piece stands for in the text: its characters without the word-start mark.
std::string surface(const std::string& piece) {
  std::string out = piece;
  for (size_t p; (p = out.find("\xE2\x96\x81")) != std::string::npos;) out.erase(p, 3);
  return out;
}

void expect_lossless(const Tokenizer& tok, const std::string& text) {
  Spans spans;
  const Tokens pieces = tok.tokenize(text, &spans);
  ASSERT_EQ(pieces.size(), spans.size());
  std::string joined;
  for (size_t k = 0; k < pieces.size(); ++k) {
    EXPECT_EQ(text.substr(spans[k].first, spans[k].second - spans[k].first), surface(pieces[k])) << text;
    joined += surface(pieces[k]);
  }
  std::string no_spaces = text;
  std::erase(no_spaces, ' ');
  EXPECT_EQ(joined, no_spaces);
}

TEST(TextTokenizer, SentencePieceTrainSaveLoad) {
  const auto corpus = synthetic_corpus(300, 1);
  const Tokenizer tok = Tokenizer::train_sentencepiece(corpus, 120, 42);
  EXPECT_EQ(tok.kind(), TokenizerKind::SentencePiece);
  size_t pieces = 0, words = 0, chars = 0;
  bool saw_url = false;
  for (const auto& s : corpus) {
    expect_lossless(tok, s);
    const Tokens t = tok.tokenize(s);
    pieces += t.size();
    words += static_cast<size_t>(std::count(s.begin(), s.end(), ' ')) + 1;
    chars += s.size();
    saw_url |= std::find(t.begin(), t.end(), "<url>") != t.end();
  }
  EXPECT_TRUE(saw_url);          // a placeholder is one piece
  EXPECT_LT(pieces, chars / 2);  // subwords, not characters
  EXPECT_GT(pieces, words);      // 120 pieces cannot hold all 160 word forms
  EXPECT_EQ(tok.tokenize(""), Tokens{});

  TempDir a, b;
  tok.save(a.file(""));
  Tokenizer::train_sentencepiece(corpus, 120, 42).save(b.file(""));
  const std::string bytes = io::read_file(a.file("tokenizer.model"), 1 << 24);
  EXPECT_EQ(bytes, io::read_file(b.file("tokenizer.model"), 1 << 24));  // deterministic
  EXPECT_EQ(a.entries(), std::vector<std::string>{"tokenizer.model"});

  const Tokenizer loaded = Tokenizer::load(a.file(""), TokenizerKind::SentencePiece);
  EXPECT_EQ(loaded.kind(), TokenizerKind::SentencePiece);
  for (const auto& s : synthetic_corpus(50, 2)) {
    const Tokens want = tok.tokenize(s);
    ASSERT_EQ(loaded.tokenize(s), want);
    ASSERT_EQ(Tokenizer(loaded).tokenize(s), want);  // copies share the model
  }
  expect_lossless(loaded, "unseen wordsx qq and Zebra");
}

TEST(TextTokenizer, SentencePieceConcurrentUse) {
  const auto corpus = synthetic_corpus(200, 3);
  const Tokenizer tok = Tokenizer::train_sentencepiece(corpus, 100, 1);
  std::vector<Tokens> want;
  for (const auto& s : corpus) want.push_back(tok.tokenize(s));
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Tokenizer copy = tok;
      bool same = true;
      for (int rep = 0; rep < 5; ++rep) {
        for (size_t i = 0; i < corpus.size(); ++i) same &= copy.tokenize(corpus[i]) == want[i];
      }
      ok[static_cast<size_t>(t)] = same;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

TEST(TextTokenizer, SentencePieceChinese) {
  const char* words[] = {"\xE9\x85\x92\xE5\xBA\x97",
                         "\xE6\x88\xBF\xE9\x97\xB4",
                         "\xE6\x9C\x8D\xE5\x8A\xA1",
                         "\xE5\xBE\x88\xE5\xA5\xBD",
                         "\xE5\xB9\xB2\xE5\x87\x80",
                         "\xE4\xB8\x8D\xE9\x94\x99",
                         "\xE6\x97\xA9\xE9\xA4\x90",
                         "\xE4\xBD\x8D\xE7\xBD\xAE",
                         "\xE6\x96\xB9\xE4\xBE\xBF",
                         "\xE4\xB8\x80\xE8\x88\xAC",
                         "\xEF\xBC\x8C",
                         "\xE3\x80\x82"};
  std::mt19937_64 g(5);
  std::vector<std::string> corpus;
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (int w = 3 + static_cast<int>(g() % 8); w > 0; --w) s += words[g() % 12];
    corpus.push_back(s);
  }
  const Tokenizer tok = Tokenizer::train_sentencepiece(corpus, 60, 9);
  for (const auto& s : corpus) expect_lossless(tok, s);
}

TEST(TextTokenizer, SentencePieceErrors) {
  expect_error([] { Tokenizer::train_sentencepiece({}, 100, 1); }, {"no training text"});
  expect_error([] { Tokenizer::train_sentencepiece({"", ""}, 100, 1); }, {"no training text"});
  expect_error([] { Tokenizer::train_sentencepiece({"abc"}, 0, 1); }, {"vocabulary size"});
  expect_error([] { Tokenizer::train_sentencepiece({"ab\xFF"}, 10, 1); }, {"invalid UTF-8"});

  TempDir dir;
  expect_error([&] { Tokenizer::load(dir.file(""), TokenizerKind::SentencePiece); }, {"tokenizer.model"});
  io::write_file_atomic(dir.file("tokenizer.model"), "this is not a model");
  expect_error([&] { Tokenizer::load(dir.file(""), TokenizerKind::SentencePiece); },
               {"tokenizer.model", "not a valid SentencePiece model"});
  TempDir good;
  Tokenizer::train_sentencepiece(synthetic_corpus(100, 4), 60, 1).save(good.file(""));
  const std::string bytes = io::read_file(good.file("tokenizer.model"), 1 << 24);
  io::write_file_atomic(dir.file("tokenizer.model"), bytes.substr(0, bytes.size() / 2));
  expect_error([&] { Tokenizer::load(dir.file(""), TokenizerKind::SentencePiece); }, {"tokenizer.model"});
}

TEST(TextTokenizer, WordsAndCharsHaveNoFile) {
  TempDir dir;
  Tokenizer::words().save(dir.file(""));
  Tokenizer::chars().save(dir.file(""));
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_EQ(Tokenizer::load(dir.file(""), TokenizerKind::Chars).kind(), TokenizerKind::Chars);
  EXPECT_EQ(Tokenizer::load(dir.file(""), TokenizerKind::Words).tokenize("a b"), (Tokens{"a", "b"}));
  EXPECT_EQ(Tokenizer().kind(), TokenizerKind::Words);
}

}  // namespace
}  // namespace attn::text
