// Parallel corpora: line-aligned file pairs and two-column TSV, with every bad-input case named.
#include "attn/data/parallel_dataset.h"

#include <gtest/gtest.h>

#include <fstream>

#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::data {
namespace {

std::string write(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name), std::ios::binary) << text;
  return dir.file(name);
}

TEST(ParallelDataset, ReadsAlignedFilesAndSkipsEmptyPairs) {
  testing::TempDir dir;
  const auto src = write(dir, "s.de", "Zwei Männer.\r\n\nEin Hund\n  \nx\n");
  const auto tgt = write(dir, "t.en", "Two men.\nnothing\nA dog\ny\n\n");
  ParallelReadReport report;
  const auto pairs = read_parallel(src, tgt, {}, &report);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].source, "Zwei Männer.");
  EXPECT_EQ(pairs[0].target, "Two men.");
  EXPECT_EQ(pairs[1].target, "A dog");
  EXPECT_EQ(pairs[1].where, src + ":3");
  EXPECT_EQ(report.empty, 3u);
  EXPECT_EQ(report.pairs, 2u);
  ASSERT_FALSE(report.first_problems.empty());
  EXPECT_NE(report.first_problems[0].find(":2: empty source"), std::string::npos);
}

TEST(ParallelDataset, DifferentLengthsGiveBothCounts) {
  testing::TempDir dir;
  const auto src = write(dir, "s", "a\nb\nc\n");
  const auto tgt = write(dir, "t", "a\nb\n");
  testing::expect_error([&] { read_parallel(src, tgt); }, {"has 3 lines", "has 2", "line-aligned"});
  testing::expect_error([&] { read_parallel(tgt, src); }, {"has 2 lines", "has 3"});
}

TEST(ParallelDataset, InvalidUtf8IsAnErrorOrSkipped) {
  testing::TempDir dir;
  const auto src = write(dir, "s", "ok\nbad \xFF here\nfine\n");
  const auto tgt = write(dir, "t", "ok\nok\nfine\n");
  testing::expect_error([&] { read_parallel(src, tgt); }, {"s:2", "invalid UTF-8", "source"});
  ParallelReadOptions o;
  o.skip_bad = true;
  ParallelReadReport report;
  EXPECT_EQ(read_parallel(src, tgt, o, &report).size(), 2u);
  EXPECT_EQ(report.bad, 1u);
  const auto bin = write(dir, "bin", std::string("a\0b\n", 4));
  testing::expect_error([&] { read_parallel(bin, tgt, o); }, {"NUL byte", "binary"});
}

TEST(ParallelDataset, Tsv) {
  testing::TempDir dir;
  const auto path = write(dir, "p.tsv", "Go.\tVa !\tCC-BY 2.0\nRun!\tCours !\n\nonly one column\n");
  testing::expect_error([&] { read_parallel_tsv(path); }, {"p.tsv:4", "one column"});
  ParallelReadOptions o;
  o.skip_bad = true;
  ParallelReadReport report;
  const auto pairs = read_parallel_tsv(path, o, &report);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].source, "Go.");
  EXPECT_EQ(pairs[0].target, "Va !");
  EXPECT_EQ(pairs[1].target, "Cours !");
  EXPECT_EQ(report.bad, 1u);
  EXPECT_EQ(report.empty, 1u);
}

}  // namespace
}  // namespace attn::data
