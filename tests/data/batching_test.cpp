#include "attn/data/batching.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/test_util.h"

namespace attn::data {
namespace {

std::vector<int64_t> random_lengths(size_t n) {
  std::vector<int64_t> v(n);
  for (auto& x : v) x = attn::testing::random_int(1, 300);
  return v;
}

void expect_each_index_once(const std::vector<std::vector<size_t>>& batches, size_t n) {
  std::vector<int> seen(n, 0);
  for (const auto& b : batches) {
    for (size_t i : b) {
      ASSERT_LT(i, n);
      ++seen[i];
    }
  }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
}

TEST(MakeBatches, ShuffledAndBucketed) {
  const auto lengths = random_lengths(1003);
  const auto batches = make_batches(lengths, 16, true, 7, 10);
  expect_each_index_once(batches, lengths.size());
  ASSERT_EQ(batches.size(), 63u);  // ceil(1003 / 16)
  int short_batches = 0;
  for (const auto& b : batches) {
    short_batches += b.size() != 16;
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end(), [&](size_t x, size_t y) { return lengths[x] < lengths[y]; }));
  }
  EXPECT_EQ(short_batches, 1);  // only the very last slice: 1003 = 62 * 16 + 11
  // Bucketing keeps the length spread inside a batch far below the spread of the data.
  double spread = 0;
  for (const auto& b : batches) spread += static_cast<double>(lengths[b.back()] - lengths[b.front()]);
  EXPECT_LT(spread / static_cast<double>(batches.size()), 60.0);

  EXPECT_EQ(make_batches(lengths, 16, true, 7, 10), batches);
  EXPECT_NE(make_batches(lengths, 16, true, 8, 10), batches);
  // Pinned, so a change of shuffle (or of Rng) on any platform is noticed.
  EXPECT_EQ(make_batches({5, 3, 8, 1, 9, 2, 7}, 3, true, 11, 1),
            (std::vector<std::vector<size_t>>{{3, 5, 4}, {6}, {1, 0, 2}}));
}

TEST(MakeBatches, PlainShuffleWithFactorOne) {
  const auto lengths = random_lengths(100);
  const auto batches = make_batches(lengths, 10, true, 3, 1);
  expect_each_index_once(batches, 100);
  bool any_unsorted = false;
  for (const auto& b : batches) {
    EXPECT_EQ(b.size(), 10u);
    any_unsorted |= !std::is_sorted(b.begin(), b.end(), [&](size_t x, size_t y) { return lengths[x] < lengths[y]; });
  }
  EXPECT_TRUE(any_unsorted);  // nothing was sorted by length
}

TEST(MakeBatches, InOrderForEvaluation) {
  const auto lengths = random_lengths(25);
  const auto plain = make_batches(lengths, 10, false, 0, 1);
  ASSERT_EQ(plain.size(), 3u);
  size_t next = 0;
  for (const auto& b : plain) {
    for (size_t i : b) EXPECT_EQ(i, next++);
  }
  EXPECT_EQ(plain[2].size(), 5u);

  // Sorted by length within windows of 20, the windows and batches in input order.
  const auto sorted = make_batches(lengths, 5, false, 0, 4);
  expect_each_index_once(sorted, 25);
  ASSERT_EQ(sorted.size(), 5u);
  std::vector<size_t> flat;
  for (const auto& b : sorted) flat.insert(flat.end(), b.begin(), b.end());
  auto by_length = [&](size_t x, size_t y) { return lengths[x] < lengths[y]; };
  EXPECT_TRUE(std::is_sorted(flat.begin(), flat.begin() + 20, by_length));
  EXPECT_TRUE(std::is_sorted(flat.begin() + 20, flat.end(), by_length));
  EXPECT_TRUE(std::all_of(flat.begin(), flat.begin() + 20, [](size_t i) { return i < 20; }));
}

TEST(MakeBatches, EdgeCases) {
  EXPECT_TRUE(make_batches({}, 4, true, 1).empty());
  EXPECT_EQ(make_batches({5}, 4, true, 1), (std::vector<std::vector<size_t>>{{0}}));
  EXPECT_EQ(make_batches({3, 1, 2}, 100, false, 1, int64_t{1} << 62).size(), 1u);  // huge factor: no overflow
  attn::testing::expect_error([] { make_batches({1}, 0, true, 1); }, {"batch_size"});
  attn::testing::expect_error([] { make_batches({1}, 2, true, 1, 0); }, {"bucket_factor"});
}

TEST(MakeTokenBatches, FitTheBudgetCoverEveryExampleAndBucket) {
  for (int trial = 0; trial < 20; ++trial) {
    const auto n = size_t(attn::testing::random_int(0, 300));
    std::vector<int64_t> lengths(n);
    for (auto& l : lengths) l = attn::testing::random_int(1, 60);
    const int64_t budget = attn::testing::random_int(1, 400);
    for (bool shuffle : {true, false}) {
      const auto batches = make_token_batches(lengths, budget, shuffle, uint64_t(trial));
      std::vector<int> seen(n, 0);
      std::vector<size_t> flat;
      int64_t padded = 0;
      for (const auto& b : batches) {
        ASSERT_FALSE(b.empty());
        int64_t longest = 0;
        for (size_t i : b) longest = std::max(longest, lengths[i]), ++seen[i], flat.push_back(i);
        EXPECT_TRUE(b.size() == 1 || longest * int64_t(b.size()) <= budget) << longest << " x " << b.size();
        padded += longest * int64_t(b.size());
      }
      for (int s : seen) ASSERT_EQ(s, 1);
      if (!shuffle) {
        for (size_t i = 0; i < flat.size(); ++i) ASSERT_EQ(flat[i], i);
      } else if (n > 50 && budget >= 120) {
        int64_t real = 0;
        for (int64_t l : lengths) real += l;
        EXPECT_LT(double(padded), 1.3 * double(real)) << "sorted batches pad little";
      }
    }
  }
  EXPECT_EQ(make_token_batches({5, 5}, 10, true, 1), make_token_batches({5, 5}, 10, true, 1));
  EXPECT_THROW(make_token_batches({1}, 0, false, 1), Error);
}

}  // namespace
}  // namespace attn::data
