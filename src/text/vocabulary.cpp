#include "attn/text/vocabulary.h"

#include <algorithm>
#include <limits>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/text/utf8.h"

namespace attn::text {
namespace {
constexpr uint64_t kMaxVocabularyBytes = uint64_t{1} << 30;
}  // namespace

Vocabulary::Vocabulary() {
  add(std::string(kPadToken));
  add(std::string(kUnkToken));
}

void Vocabulary::add(std::string token) {
  ids_.emplace(token, size());
  tokens_.push_back(std::move(token));
}

Vocabulary Vocabulary::build(const std::vector<std::vector<std::string>>& documents, int64_t min_count,
                             int64_t max_size) {
  TokenCounter counter;
  for (const auto& d : documents) counter.add(d);
  return counter.build(min_count, max_size);
}

int32_t Vocabulary::id(std::string_view token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocabulary::token(int32_t id) const {
  ATTN_CHECK(id >= 0 && id < size(), "vocabulary: id {} is out of range [0, {})", id, size());
  return tokens_[static_cast<size_t>(id)];
}

std::vector<int32_t> Vocabulary::encode(const std::vector<std::string>& tokens) const {
  std::vector<int32_t> ids(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) ids[i] = id(tokens[i]);
  return ids;
}

void Vocabulary::save(const std::string& path) const {
  std::string text;
  for (const auto& t : tokens_) {
    ATTN_CHECK(t.find_first_of("\r\n") == std::string::npos, "{}: cannot save token '{}': it holds a line break", path,
               t);
    text += t;
    text += '\n';
  }
  io::write_file_atomic(path, text);
}

Vocabulary Vocabulary::load(const std::string& path) {
  const std::string text = io::read_file(path, kMaxVocabularyBytes);
  ATTN_CHECK(!text.empty(), "{}: empty vocabulary file", path);
  Vocabulary v;
  v.tokens_.clear();
  v.ids_.clear();
  size_t begin = 0;
  for (int64_t line = 1; begin < text.size(); ++line) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view t(text.data() + begin, end - begin);
    begin = end + 1;
    ATTN_CHECK(line <= std::numeric_limits<int32_t>::max(), "{}: more than 2^31 - 1 tokens", path);
    if (line <= 2) {
      const auto expected = line == 1 ? kPadToken : kUnkToken;
      ATTN_CHECK(t == expected, "{}:{}: expected '{}' (id {}), found '{}'", path, line, expected, line - 1, t);
    }
    ATTN_CHECK(!t.empty(), "{}:{}: empty token", path, line);
    ATTN_CHECK(t.find('\r') == std::string_view::npos, "{}:{}: token holds a carriage return (Windows line ends?)",
               path, line);
    const auto bad = find_invalid_utf8(t);
    ATTN_CHECK(!bad, "{}:{}: invalid UTF-8 at byte {} of the token", path, line, *bad + 1);
    const auto it = v.ids_.find(t);
    ATTN_CHECK(it == v.ids_.end(), "{}:{}: duplicate token '{}' (also on line {})", path, line, t, it->second + 1);
    v.add(std::string(t));
  }
  ATTN_CHECK(v.size() >= 2, "{}: only {} line; expected '<pad>' and '<unk>' on lines 1 and 2", path, v.size());
  return v;
}

void TokenCounter::add(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) {
    const auto it = counts_.find(t);  // no std::string is built for a token already counted
    if (it != counts_.end()) {
      ++it->second;
    } else {
      counts_.emplace(t, 1);
    }
  }
}

void TokenCounter::merge(const TokenCounter& other) {
  for (const auto& [t, n] : other.counts_) counts_[t] += n;
}

int64_t TokenCounter::count(std::string_view token) const {
  const auto it = counts_.find(token);
  return it == counts_.end() ? 0 : it->second;
}

Vocabulary TokenCounter::build(int64_t min_count, int64_t max_size) const {
  ATTN_CHECK(max_size == 0 || max_size >= 2,
             "vocabulary: max size {} leaves no room for <pad> and <unk> (use 0 for no limit, or at least 2)",
             max_size);
  std::vector<std::pair<int64_t, const std::string*>> kept;
  for (const auto& [t, n] : counts_) {
    if (n >= min_count && t != Vocabulary::kPadToken && t != Vocabulary::kUnkToken) kept.emplace_back(n, &t);
  }
  const auto before = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  };
  size_t keep = kept.size();
  if (max_size > 0) keep = std::min(keep, static_cast<size_t>(max_size - 2));
  ATTN_CHECK(keep + 2 <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), "vocabulary: {} tokens is too many",
             keep + 2);
  std::partial_sort(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(keep), kept.end(), before);
  Vocabulary v;
  v.tokens_.reserve(keep + 2);
  v.ids_.reserve(keep + 2);
  for (size_t i = 0; i < keep; ++i) v.add(*kept[i].second);
  return v;
}

}  // namespace attn::text
