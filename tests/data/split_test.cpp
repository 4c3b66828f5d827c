#include "attn/data/split.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/test_util.h"

namespace attn::data {
namespace {

std::map<int32_t, size_t> counts(const std::vector<int32_t>& labels, const std::vector<size_t>& idx) {
  std::map<int32_t, size_t> c;
  for (size_t i : idx) ++c[labels[i]];
  return c;
}

void expect_partition(const Split& s, size_t n) {
  std::set<size_t> all(s.train.begin(), s.train.end());
  all.insert(s.valid.begin(), s.valid.end());
  EXPECT_EQ(all.size(), n);  // disjoint and complete
  EXPECT_EQ(s.train.size() + s.valid.size(), n);
  if (!all.empty()) {
    EXPECT_EQ(*all.rbegin(), n - 1);
  }
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.valid.begin(), s.valid.end()));
}

TEST(StratifiedSplit, KeepsProportions) {
  std::vector<int32_t> labels;
  for (int i = 0; i < 700; ++i) labels.push_back(0);
  for (int i = 0; i < 200; ++i) labels.push_back(1);
  for (int i = 0; i < 100; ++i) labels.push_back(7);
  attn::testing::rng().seed(1);
  for (size_t i = labels.size(); i > 1; --i)
    std::swap(labels[i - 1], labels[static_cast<size_t>(attn::testing::random_int(0, static_cast<int64_t>(i) - 1))]);
  const Split s = stratified_split(labels, 0.1, 42);
  expect_partition(s, labels.size());
  EXPECT_EQ(counts(labels, s.valid), (std::map<int32_t, size_t>{{0, 70}, {1, 20}, {7, 10}}));
}

TEST(StratifiedSplit, TotalIsRoundedOnceAndRareLabelsAppearInBoth) {
  // Labels 0-4 have 3 examples each (share 0.6): the minimum of one per part wins over the total of
  // round(16 * 0.2) = 3.
  std::vector<int32_t> labels = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5};
  const Split s = stratified_split(labels, 0.2, 3);
  expect_partition(s, labels.size());
  const auto valid = counts(labels, s.valid), train = counts(labels, s.train);
  for (int32_t l = 0; l <= 4; ++l) {
    EXPECT_EQ(valid.at(l), 1u) << l;
    EXPECT_EQ(train.at(l), 2u) << l;
  }
  EXPECT_EQ(valid.count(5), 0u);  // a single example stays in train
  EXPECT_EQ(train.at(5), 1u);

  // Largest remainder: 10 labels of 5 at 0.3 -> 1.5 each, total exactly 15.
  std::vector<int32_t> many;
  for (int32_t l = 0; l < 10; ++l) many.insert(many.end(), 5, l);
  const Split m = stratified_split(many, 0.3, 9);
  expect_partition(m, many.size());
  EXPECT_EQ(m.valid.size(), 15u);
  for (const auto& [label, c] : counts(many, m.valid)) EXPECT_TRUE(c == 1 || c == 2) << label;
}

TEST(StratifiedSplit, DeterministicAndSeedDependent) {
  std::vector<int32_t> labels;
  for (int i = 0; i < 500; ++i) labels.push_back(i % 3);
  const Split a = stratified_split(labels, 0.25, 5), b = stratified_split(labels, 0.25, 5);
  const Split c = stratified_split(labels, 0.25, 6);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_NE(a.valid, c.valid);
  // Pinned, so a change of shuffle (or of Rng) on any platform is noticed.
  const Split small = stratified_split({0, 0, 0, 0, 1, 1, 1, 1}, 0.5, 1);
  EXPECT_EQ(small.valid, (std::vector<size_t>{1, 2, 4, 5}));
  EXPECT_EQ(small.train, (std::vector<size_t>{0, 3, 6, 7}));
}

TEST(StratifiedSplit, EdgeCases) {
  EXPECT_TRUE(stratified_split({}, 0.1, 1).train.empty());
  const Split one = stratified_split({4}, 0.5, 1);
  EXPECT_EQ(one.train, std::vector<size_t>{0});
  EXPECT_TRUE(one.valid.empty());
  const Split none = stratified_split({1, 1, 2, 2}, 0.0, 1);
  EXPECT_EQ(none.train.size(), 4u);
  EXPECT_TRUE(none.valid.empty());
  attn::testing::expect_error([] { stratified_split({1, 2}, 1.0, 1); }, {"valid_fraction", "[0, 1)"});
  attn::testing::expect_error([] { stratified_split({1, 2}, -0.1, 1); }, {"valid_fraction"});
}

}  // namespace
}  // namespace attn::data
