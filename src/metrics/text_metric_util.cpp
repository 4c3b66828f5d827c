#include "text_metric_util.h"

#include <set>

#include "attn/core/error.h"
#include "attn/text/utf8.h"

namespace attn::metrics::detail {

std::vector<std::string_view> split_python(std::string_view valid) {
  std::vector<std::string_view> pieces;
  size_t begin = std::string_view::npos;
  for (size_t i = 0; i < valid.size();) {
    const size_t at = i;
    const bool space = is_python_space(text::next_code_point(valid, &i));
    if (space && begin != std::string_view::npos) {
      pieces.push_back(valid.substr(begin, at - begin));
      begin = std::string_view::npos;
    } else if (!space && begin == std::string_view::npos) {
      begin = at;
    }
  }
  if (begin != std::string_view::npos) pieces.push_back(valid.substr(begin));
  return pieces;
}

std::string_view rstrip_python(std::string_view valid) {
  size_t end = 0;
  for (size_t i = 0; i < valid.size();) {
    if (!is_python_space(text::next_code_point(valid, &i))) end = i;
  }
  return valid.substr(0, end);
}

void check_corpus(const char* metric, const std::vector<std::string>& hypotheses,
                  const std::vector<std::vector<std::string>>& reference_sets) {
  ATTN_CHECK(!reference_sets.empty(), "{}: no reference sets given", metric);
  for (size_t k = 0; k < reference_sets.size(); ++k) {
    ATTN_CHECK(reference_sets[k].size() == hypotheses.size(), "{}: reference set {} has {} entries for {} hypotheses",
               metric, k, reference_sets[k].size(), hypotheses.size());
  }
  auto check_utf8 = [&](const std::string& s, const char* what, size_t i) {
    const auto bad = text::find_invalid_utf8(s);
    ATTN_CHECK(!bad, "{}: {} {} is not valid UTF-8 (byte {})", metric, what, i, bad.value_or(0));
  };
  for (size_t i = 0; i < hypotheses.size(); ++i) check_utf8(hypotheses[i], "hypothesis", i);
  for (const auto& set : reference_sets) {
    for (size_t i = 0; i < set.size(); ++i) check_utf8(set[i], "reference of hypothesis", i);
  }
}

std::vector<std::string_view> nonempty_references(const char* metric, size_t i,
                                                  const std::vector<std::vector<std::string>>& reference_sets) {
  std::vector<std::string_view> refs;
  for (const auto& set : reference_sets) {
    if (!set[i].empty()) refs.push_back(set[i]);
  }
  ATTN_CHECK(!refs.empty(), "{}: hypothesis {} has only empty references", metric, i);
  return refs;
}

std::string nrefs_field(const std::vector<std::vector<std::string>>& reference_sets) {
  std::set<size_t> counts;
  const size_t n = reference_sets.empty() ? 0 : reference_sets[0].size();
  for (size_t i = 0; i < n; ++i) {
    size_t count = 0;
    for (const auto& set : reference_sets) count += set[i].empty() ? 0 : 1;
    counts.insert(count);
  }
  if (counts.empty()) return std::to_string(reference_sets.size());
  return counts.size() == 1 ? std::to_string(*counts.begin()) : "var";
}

}  // namespace attn::metrics::detail
