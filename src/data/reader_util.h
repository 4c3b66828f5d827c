// Small pieces shared by the dataset readers: trimming, the header-name lists, UTF-8 checks with messages
// that say where, and the skip-or-throw rule for bad rows.
#pragma once
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "attn/core/error.h"
#include "attn/data/text_dataset.h"
#include "attn/text/utf8.h"

namespace attn::data::detail {

// Column names (lower case) that say what a column holds, in order of preference.
inline constexpr std::array<std::string_view, 7> kLabelNames = {"label",     "labels",   "class", "category",
                                                                "sentiment", "polarity", "y"};
inline constexpr std::array<std::string_view, 12> kTextNames = {"text",    "sentence", "text_a",    "review",
                                                                "content", "document", "comment",   "tweet",
                                                                "body",    "message",  "utterance", "sentence1"};
inline constexpr std::array<std::string_view, 6> kIdNames = {"id", "qid", "idx", "index", "guid", "uid"};

template <size_t N>
bool is_one_of(std::string_view s, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

inline bool is_blank(std::string_view s) { return trim(s).empty(); }

// Trimmed and ASCII-lower-cased, for matching header names.
inline std::string normalize_name(std::string_view s) {
  std::string out(trim(s));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "a, b, c" for messages.
inline std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// Empty when s (part of the row at `where`) is valid UTF-8, else the reason. A NUL byte means a binary file and
// is always an error: skipping it row by row would only hide that the wrong file was given.
inline std::string utf8_problem(std::string_view s, const std::string& where, std::string_view what = "the line") {
  const size_t nul = s.find('\0');
  ATTN_CHECK(nul == std::string_view::npos, "{}: NUL byte at byte {} of {}: is this a binary file?", where, nul + 1,
             what);
  const std::optional<size_t> bad = text::find_invalid_utf8(s);
  if (!bad) return {};
  return fmt::format("invalid UTF-8 (byte 0x{:02X} at byte {} of {})", static_cast<unsigned char>(s[*bad]), *bad + 1,
                     what);
}

// A row that cannot become an example: an error, or (skip_bad) counted with the first few messages kept.
inline void bad_row(const TextReadOptions& options, TextReadReport& report, const std::string& message) {
  if (!options.skip_bad) attn::detail::throw_error(message);
  ++report.skipped;
  if (report.first_problems.size() < 5) report.first_problems.push_back(message);
}

}  // namespace attn::data::detail
