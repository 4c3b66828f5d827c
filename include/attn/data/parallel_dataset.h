// Sentence pairs for sequence-to-sequence tasks: two line-aligned files (source and target, plain or gzip) or one
// TSV with the source in column 1 and the target in column 2 (Tatoeba/eng-fra style). Pairs with an empty side
// are skipped and counted; invalid UTF-8 is an error with file:line, or skipped and counted with skip_bad.
#pragma once
#include <string>
#include <vector>

namespace attn::data {

struct ParallelExample {
  std::string source, target;
  std::string where;  // "file:line" of the source side, for messages
};

struct ParallelReadOptions {
  bool skip_bad = false;  // invalid UTF-8 or (TSV) fewer than two columns: skip and count instead of failing
};

struct ParallelReadReport {
  size_t pairs = 0, empty = 0, bad = 0;     // pairs kept, with an empty side, bad (skip_bad)
  std::vector<std::string> first_problems;  // up to 5 "file:line: reason" of the bad or empty ones
};

// Line i of source_path pairs with line i of target_path; different line counts are an attn::Error giving both.
std::vector<ParallelExample> read_parallel(const std::string& source_path, const std::string& target_path,
                                           const ParallelReadOptions& options = {}, ParallelReadReport* report = nullptr);
// Column 1 -> source, column 2 -> target; further columns (attribution) are ignored.
std::vector<ParallelExample> read_parallel_tsv(const std::string& path, const ParallelReadOptions& options = {},
                                               ParallelReadReport* report = nullptr);

}  // namespace attn::data
