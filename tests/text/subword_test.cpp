// SubwordModel: SentencePiece unigram/BPE and word vocabularies trained on text, ids back to text, files.
#include "attn/text/subword.h"

#include <gtest/gtest.h>

#include <fstream>

#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::text {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  const char* words[] = {"the", "dog", "runs", "across", "a", "green", "field", "while", "children", "play",
                         "Zwei", "Männer", "stehen", "am", "Herd", "und", "kochen", "Essen", "."};
  uint64_t x = 1;
  for (int s = 0; s < 400; ++s) {
    std::string line;
    for (int w = 0; w < 8; ++w) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      if (w) line += ' ';
      line += words[(x >> 33) % 19];
    }
    out.push_back(line);
  }
  out.push_back("");  // empty texts are skipped
  return out;
}

std::vector<const std::string*> pointers(const std::vector<std::string>& texts) {
  std::vector<const std::string*> out;
  for (const auto& t : texts) out.push_back(&t);
  return out;
}

class SubwordKinds : public ::testing::TestWithParam<SubwordKind> {};

TEST_P(SubwordKinds, RoundTripsTextAndFiles) {
  const auto texts = corpus();
  SubwordOptions o;
  o.kind = GetParam();
  o.vocab_size = 60;
  SubwordModel m = SubwordModel::train(pointers(texts), o);
  EXPECT_LE(m.size(), 60);
  EXPECT_GT(m.size(), 8);
  EXPECT_EQ(m.pieces({0, 1, 2, 3}), (std::vector<std::string>{"<pad>", "<unk>", "<s>", "</s>"}));
  for (size_t i = 0; i < 20; ++i) {
    const auto ids = m.encode(texts[i]);
    ASSERT_FALSE(ids.empty());
    for (int32_t id : ids) EXPECT_TRUE(id == SubwordModel::kUnk || (id > SubwordModel::kEos && id < m.size()));
    if (GetParam() != SubwordKind::kWords) {
      EXPECT_EQ(m.decode(ids), texts[i]);  // words detokenise: "field ." -> "field."
    }
  }
  EXPECT_EQ(m.decode({2, 3}), "");  // specials vanish
  testing::TempDir dir;
  m.save(dir.file("m"));
  SubwordModel back = SubwordModel::load(dir.file("m"), GetParam());
  EXPECT_EQ(back.size(), m.size());
  EXPECT_EQ(back.encode(texts[3]), m.encode(texts[3]));
  // Truncated or foreign files are rejected.
  std::ofstream(dir.file("bad")) << "garbage\nnot a model";
  EXPECT_THROW(SubwordModel::load(dir.file("bad"), GetParam()), Error);
  EXPECT_THROW(SubwordModel::load(dir.file("missing"), GetParam()), Error);
}

INSTANTIATE_TEST_SUITE_P(All, SubwordKinds,
                         ::testing::Values(SubwordKind::kUnigram, SubwordKind::kBpe, SubwordKind::kWords),
                         [](const auto& info) { return to_string(info.param); });

TEST(Subword, WordsDetokenizeAndCountUnknowns) {
  const std::vector<std::string> texts = {"Hello , world !", "a ( small ) test .", "hello world"};
  SubwordOptions o;
  o.kind = SubwordKind::kWords;
  SubwordModel m = SubwordModel::train(pointers(texts), o);
  EXPECT_EQ(m.decode(m.encode("Hello, world!")), "Hello, world!");
  EXPECT_EQ(m.decode(m.encode("a (small) test.")), "a (small) test.");
  EXPECT_EQ(m.encode("unseen")[0], SubwordModel::kUnk);
  o.min_count = 2;
  EXPECT_EQ(SubwordModel::train(pointers(texts), o).encode("Hello")[0], SubwordModel::kUnk);  // seen once
}

TEST(Subword, BadInput) {
  const std::string bad = "caf\xC3";
  SubwordOptions o;
  testing::expect_error([&] { SubwordModel::train({&bad}, o); }, {"invalid UTF-8"});
  const std::string empty;
  testing::expect_error([&] { SubwordModel::train({&empty}, o); }, {"no training text"});
  EXPECT_THROW(subword_kind_from_string("wordpiece"), Error);
  const std::vector<std::string> texts = {"a b c"};
  o.kind = SubwordKind::kWords;
  testing::expect_error([&] { SubwordModel::train(pointers(texts), o).encode(bad); }, {"invalid UTF-8"});
  testing::TempDir dir;
  std::ofstream(dir.file("words")) << "<pad>\n<unk>\n<s>\n</s>\nx\nx\n";
  testing::expect_error([&] { SubwordModel::load(dir.file("words"), SubwordKind::kWords); }, {"words:6", "twice"});
  std::ofstream(dir.file("words2")) << "<unk>\n<pad>\n";
  testing::expect_error([&] { SubwordModel::load(dir.file("words2"), SubwordKind::kWords); }, {"words2:1", "<pad>"});
}

}  // namespace
}  // namespace attn::text
