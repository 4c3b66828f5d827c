#include "attn/data/parallel_dataset.h"

#include <fmt/format.h>

#include "attn/core/error.h"
#include "line_reader.h"
#include "reader_util.h"

namespace attn::data {
namespace {

// Adds the pair, or counts why it was not added.
void add_pair(std::string_view source, std::string_view target, const std::string& where,
              const ParallelReadOptions& options, ParallelReadReport& report, std::vector<ParallelExample>& out) {
  std::string problem = detail::utf8_problem(source, where, "the source");
  if (problem.empty()) problem = detail::utf8_problem(target, where, "the target");
  if (!problem.empty()) {
    ATTN_CHECK(options.skip_bad, "{}: {}", where, problem);
    ++report.bad;
    if (report.first_problems.size() < 5) report.first_problems.push_back(where + ": " + problem);
    return;
  }
  source = detail::trim(source);
  target = detail::trim(target);
  if (source.empty() || target.empty()) {
    ++report.empty;
    if (report.first_problems.size() < 5)
      report.first_problems.push_back(where + ": empty " + (source.empty() ? "source" : "target"));
    return;
  }
  out.push_back({std::string(source), std::string(target), where});
  ++report.pairs;
}

}  // namespace

std::vector<ParallelExample> read_parallel(const std::string& source_path, const std::string& target_path,
                                           const ParallelReadOptions& options, ParallelReadReport* report) {
  ATTN_CHECK(source_path != "-" || target_path != "-", "source and target cannot both be stdin");
  detail::LineReader src(source_path), tgt(target_path);
  ParallelReadReport local;
  ParallelReadReport& r = report ? *report : local;
  std::vector<ParallelExample> out;
  std::string_view s, t;
  for (;;) {
    const bool has_s = src.next(s);
    std::string source_line = has_s ? std::string(s) : std::string();  // t's read may reuse s's buffer
    const bool has_t = tgt.next(t);
    if (has_s != has_t) {
      int64_t n_src = src.line_number(), n_tgt = tgt.line_number();
      while (src.next(s)) n_src = src.line_number();
      while (tgt.next(t)) n_tgt = tgt.line_number();
      attn::detail::throw_error(fmt::format("{} has {} lines but {} has {}: the files must be line-aligned translations",
                                      src.name(), n_src, tgt.name(), n_tgt));
    }
    if (!has_s) break;
    add_pair(source_line, t, fmt::format("{}:{}", src.name(), src.line_number()), options, r, out);
  }
  return out;
}

std::vector<ParallelExample> read_parallel_tsv(const std::string& path, const ParallelReadOptions& options,
                                               ParallelReadReport* report) {
  detail::LineReader in(path);
  ParallelReadReport local;
  ParallelReadReport& r = report ? *report : local;
  std::vector<ParallelExample> out;
  std::string_view line;
  while (in.next(line)) {
    const std::string where = fmt::format("{}:{}", in.name(), in.line_number());
    if (detail::is_blank(line)) {
      ++r.empty;
      continue;
    }
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      const std::string problem = "one column; expected source<TAB>target";
      ATTN_CHECK(options.skip_bad, "{}: {}", where, problem);
      ++r.bad;
      if (r.first_problems.size() < 5) r.first_problems.push_back(where + ": " + problem);
      continue;
    }
    const size_t end = line.find('\t', tab + 1);
    add_pair(line.substr(0, tab), line.substr(tab + 1, end == std::string_view::npos ? end : end - tab - 1), where,
             options, r, out);
  }
  return out;
}

}  // namespace attn::data
