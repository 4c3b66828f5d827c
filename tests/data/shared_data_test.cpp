// The readers on the real benchmark files in shared/data (next to the repository, or at $ATTN_SHARED_DATA);
// skipped where they are not present.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "attn/data/label_set.h"
#include "attn/data/text_dataset.h"

namespace attn::data {
namespace {

std::string shared_file(const std::string& relative) {
  const char* env = std::getenv("ATTN_SHARED_DATA");
  const std::filesystem::path root =
      env ? std::filesystem::path(env) : std::filesystem::path(ATTN_TEST_DATA_DIR) / ".." / ".." / "shared" / "data";
  const auto path = root / relative;
  return std::filesystem::exists(path) ? path.string() : std::string();
}

std::map<std::string, size_t> label_counts(const std::vector<TextExample>& examples) {
  std::map<std::string, size_t> c;
  for (const auto& e : examples) ++c[e.label];
  return c;
}

#define SHARED_OR_SKIP(var, relative)            \
  const std::string var = shared_file(relative); \
  if (var.empty()) GTEST_SKIP() << "shared data not found: " << relative

TEST(SharedData, Sst2) {
  SHARED_OR_SKIP(dev, "sst2/dev.tsv");
  const auto examples = read_text_dataset(dev, {});
  EXPECT_EQ(examples.size(), 872u);
  EXPECT_EQ(label_counts(examples), (std::map<std::string, size_t>{{"0", 428}, {"1", 444}}));
  EXPECT_EQ(LabelSet::from(examples).names(), (std::vector<std::string>{"0", "1"}));
  SHARED_OR_SKIP(train, "sst2/train.tsv.gz");
  const auto train_examples = read_text_dataset(train, {});
  ASSERT_EQ(train_examples.size(), 67349u);
  EXPECT_EQ(label_counts(train_examples), (std::map<std::string, size_t>{{"0", 29780}, {"1", 37569}}));
  EXPECT_EQ(train_examples[0].text, "hide new secretions from the parental units");
  EXPECT_EQ(train_examples[0].where, train + ":2");
}

TEST(SharedData, ChnSentiCorp) {
  SHARED_OR_SKIP(dev, "chnsenticorp/dev.tsv");
  const auto examples = read_text_dataset(dev, {});
  EXPECT_EQ(examples.size(), 1200u);
  EXPECT_EQ(label_counts(examples), (std::map<std::string, size_t>{{"0", 607}, {"1", 593}}));
  SHARED_OR_SKIP(test, "chnsenticorp/test.tsv");
  TextReadOptions predict;
  predict.require_label = false;
  const auto unlabeled = read_text_dataset(test, predict);
  EXPECT_EQ(unlabeled.size(), 1200u);
  EXPECT_TRUE(unlabeled[0].label.empty());
  EXPECT_FALSE(unlabeled[0].text.empty());
  SHARED_OR_SKIP(train, "chnsenticorp/train.tsv.gz");
  EXPECT_EQ(label_counts(read_text_dataset(train, {})), (std::map<std::string, size_t>{{"0", 4801}, {"1", 4799}}));
}

TEST(SharedData, AgNews) {
  SHARED_OR_SKIP(test, "ag_news/test.csv.gz");
  const auto examples = read_text_dataset(test, {});
  ASSERT_EQ(examples.size(), 7600u);
  EXPECT_EQ(label_counts(examples),
            (std::map<std::string, size_t>{{"1", 1900}, {"2", 1900}, {"3", 1900}, {"4", 1900}}));
  EXPECT_EQ(examples[0].label, "3");
  EXPECT_TRUE(examples[0].text.starts_with("Fears for T N pension after talks Unions representing"))
      << examples[0].text;
}

}  // namespace
}  // namespace attn::data
