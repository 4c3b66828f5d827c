#include "attn/text/vocabulary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "attn/io/atomic_file.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::text {
namespace {

using attn::testing::expect_error;
using attn::testing::TempDir;
using Docs = std::vector<std::vector<std::string>>;

std::vector<std::string> all_tokens(const Vocabulary& v) {
  std::vector<std::string> out;
  for (int32_t i = 0; i < v.size(); ++i) out.push_back(v.token(i));
  return out;
}

TEST(TextVocabulary, BuildOrderAndLimits) {
  const Docs docs = {{"b", "a", "c", "a"}, {"c", "a", "d"}, {"e"}};  // a:3 c:2 b:1 d:1 e:1
  EXPECT_EQ(all_tokens(Vocabulary::build(docs, 1, 0)),
            (std::vector<std::string>{"<pad>", "<unk>", "a", "c", "b", "d", "e"}));
  EXPECT_EQ(all_tokens(Vocabulary::build(docs, 2, 0)), (std::vector<std::string>{"<pad>", "<unk>", "a", "c"}));
  EXPECT_EQ(all_tokens(Vocabulary::build(docs, 1, 5)), (std::vector<std::string>{"<pad>", "<unk>", "a", "c", "b"}));
  EXPECT_EQ(all_tokens(Vocabulary::build(docs, 1, 2)), (std::vector<std::string>{"<pad>", "<unk>"}));
  EXPECT_EQ(all_tokens(Vocabulary::build(docs, 4, 0)), (std::vector<std::string>{"<pad>", "<unk>"}));
  EXPECT_EQ(Vocabulary::build({}, 1, 0).size(), 2);
  // Specials in the text are not counted as tokens.
  const Vocabulary v = Vocabulary::build({{"<unk>", "<pad>", "<unk>", "x"}}, 1, 0);
  EXPECT_EQ(all_tokens(v), (std::vector<std::string>{"<pad>", "<unk>", "x"}));
  expect_error([&] { Vocabulary::build(docs, 1, 1); }, {"max size 1"});
  expect_error([&] { Vocabulary::build(docs, 1, -3); }, {"max size -3"});
}

TEST(TextVocabulary, MatchesReferenceOnRandomDocuments) {
  std::mt19937_64 g(11);
  for (int trial = 0; trial < 30; ++trial) {
    Docs docs(1 + g() % 20);
    for (auto& d : docs) {
      for (int k = static_cast<int>(g() % 30); k > 0; --k) {
        d.push_back(std::string(1 + g() % 2, static_cast<char>('a' + g() % 8)) + std::to_string(g() % 3));
      }
    }
    const int64_t min_count = 1 + static_cast<int64_t>(g() % 4);
    const int64_t max_size = g() % 2 ? 0 : 2 + static_cast<int64_t>(g() % 20);
    std::map<std::string, int64_t> counts;
    for (const auto& d : docs)
      for (const auto& t : d) ++counts[t];
    std::vector<std::pair<int64_t, std::string>> order;
    for (const auto& [t, n] : counts)
      if (n >= min_count) order.emplace_back(-n, t);
    std::sort(order.begin(), order.end());
    std::vector<std::string> want = {"<pad>", "<unk>"};
    for (const auto& [n, t] : order)
      if (max_size == 0 || static_cast<int64_t>(want.size()) < max_size) want.push_back(t);
    ASSERT_EQ(all_tokens(Vocabulary::build(docs, min_count, max_size)), want);
    // The order of the documents does not matter, and neither does counting in parts.
    std::shuffle(docs.begin(), docs.end(), g);
    ASSERT_EQ(all_tokens(Vocabulary::build(docs, min_count, max_size)), want);
    TokenCounter first, second;
    for (size_t i = 0; i < docs.size(); ++i) (i % 2 ? first : second).add(docs[i]);
    first.merge(second);
    ASSERT_EQ(all_tokens(first.build(min_count, max_size)), want);
    for (const auto& [t, n] : counts) ASSERT_EQ(first.count(t), n);
  }
}

TEST(TextVocabulary, LookupAndEncode) {
  const Vocabulary v = Vocabulary::build({{"good", "movie", "good"}, {"\xE5\xA5\xBD"}}, 1, 0);
  EXPECT_EQ(v.id("<pad>"), Vocabulary::kPad);
  EXPECT_EQ(v.id("<unk>"), Vocabulary::kUnk);
  EXPECT_EQ(v.id("good"), 2);
  EXPECT_EQ(v.id(std::string_view("movies").substr(0, 5)), 3);  // "movie" sorts before 好 (byte order)
  EXPECT_EQ(v.id("\xE5\xA5\xBD"), 4);
  EXPECT_EQ(v.id("bad"), Vocabulary::kUnk);
  EXPECT_EQ(v.encode({"good", "bad", "movie", "", "<pad>"}), (std::vector<int32_t>{2, 1, 3, 1, 0}));
  EXPECT_EQ(v.token(3), "movie");
  expect_error([&] { v.token(5); }, {"id 5", "[0, 5)"});
  expect_error([&] { v.token(-1); }, {"id -1"});
  const Vocabulary empty;
  EXPECT_EQ(empty.size(), 2);
  EXPECT_EQ(empty.id("x"), Vocabulary::kUnk);
}

TEST(TextVocabulary, SaveLoadRoundTrip) {
  TempDir dir;
  const Vocabulary v = Vocabulary::build({{"caf\xC3\xA9", "\xE4\xB8\xAD", "<url>", "don't", "a", "a"}}, 1, 0);
  v.save(dir.file("vocab.txt"));
  EXPECT_EQ(io::read_file(dir.file("vocab.txt"), 1 << 20),
            "<pad>\n<unk>\na\n<url>\ncaf\xC3\xA9\ndon't\n\xE4\xB8\xAD\n");
  const Vocabulary back = Vocabulary::load(dir.file("vocab.txt"));
  EXPECT_EQ(all_tokens(back), all_tokens(v));
  EXPECT_EQ(back.id("don't"), v.id("don't"));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"vocab.txt"});
  io::write_file_atomic(dir.file("no_final_newline.txt"), "<pad>\n<unk>\nx");
  EXPECT_EQ(all_tokens(Vocabulary::load(dir.file("no_final_newline.txt"))),
            (std::vector<std::string>{"<pad>", "<unk>", "x"}));
  // A token with a line break cannot be written one per line.
  expect_error([&] { Vocabulary::build({{"a\nb"}}, 1, 0).save(dir.file("bad.txt")); }, {"bad.txt", "line break"});
}

TEST(TextVocabulary, LoadRejectsBadFiles) {
  TempDir dir;
  struct Case {
    std::string text;
    std::vector<const char*> message;
  };
  const Case cases[] = {
      {"", {"empty vocabulary file"}},
      {"<unk>\n<pad>\n", {"v.txt:1:", "expected '<pad>'"}},
      {"<pad>\nfoo\n", {"v.txt:2:", "expected '<unk>'"}},
      {"<pad>\n", {"only 1 line"}},
      {"<pad>\n<unk>\na\nb\na\n", {"v.txt:5:", "duplicate token 'a'", "line 3"}},
      {"<pad>\n<unk>\n<unk>\n", {"v.txt:3:", "duplicate"}},
      {"<pad>\n<unk>\na\n\nb\n", {"v.txt:4:", "empty token"}},
      {"<pad>\n<unk>\na\r\n", {"v.txt:3:", "carriage return"}},
      {"<pad>\n<unk>\nab\xFF\n", {"v.txt:3:", "invalid UTF-8", "byte 3"}},
  };
  for (const auto& c : cases) {
    io::write_file_atomic(dir.file("v.txt"), c.text);
    try {
      Vocabulary::load(dir.file("v.txt"));
      ADD_FAILURE() << "accepted " << ::testing::PrintToString(c.text);
    } catch (const Error& e) {
      for (const char* part : c.message) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << " lacks " << part;
      }
    }
  }
  expect_error([&] { Vocabulary::load(dir.file("missing.txt")); }, {"missing.txt"});
}

}  // namespace
}  // namespace attn::text
