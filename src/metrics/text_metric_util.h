// Pieces shared by the text-generation metrics (BLEU, chrF, ROUGE): Python's notion of whitespace, which the
// reference implementations split on, and the checks of a hypothesis list against sacreBLEU-style reference sets.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace attn::metrics::detail {

// Python's str.isspace(), the whitespace of str.split() and str.rstrip().
inline bool is_python_space(char32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Python's s.split(): the runs between Python whitespace, as views into `valid` (valid UTF-8).
std::vector<std::string_view> split_python(std::string_view valid);

// Python's s.rstrip().
std::string_view rstrip_python(std::string_view valid);

// Throws attn::Error unless there is at least one reference set, every set has one entry per hypothesis and
// all text is valid UTF-8. `metric` names the caller in messages.
void check_corpus(const char* metric, const std::vector<std::string>& hypotheses,
                  const std::vector<std::vector<std::string>>& reference_sets);

// The non-empty references of hypothesis i (sacreBLEU treats an empty one as missing); throws if there are none.
std::vector<std::string_view> nonempty_references(const char* metric, size_t i,
                                                  const std::vector<std::vector<std::string>>& reference_sets);

// sacreBLEU's "nrefs" signature field: the number of references per hypothesis, or "var" when it varies.
std::string nrefs_field(const std::vector<std::vector<std::string>>& reference_sets);

}  // namespace attn::metrics::detail
