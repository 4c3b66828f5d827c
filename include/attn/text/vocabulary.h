// Token <-> id mapping for embedding tables: built from token counts over the training documents (most frequent
// first, deterministic), saved as vocab.txt (line i holds the token with id i) beside the model. Ids 0 and 1 are
// always <pad> and <unk>; unseen tokens map to <unk>.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attn::text {

namespace detail {
// Lets the maps be searched with a string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
}  // namespace detail

class Vocabulary {
 public:
  static constexpr int32_t kPad = 0, kUnk = 1;
  static constexpr std::string_view kPadToken = "<pad>", kUnkToken = "<unk>";

  Vocabulary();  // just the two specials

  // Keeps tokens seen at least min_count times, most frequent first (equal counts in byte order), at most
  // max_size entries including the two specials (0 = no limit). "<pad>" and "<unk>" in the documents are ignored.
  static Vocabulary build(const std::vector<std::vector<std::string>>& documents, int64_t min_count, int64_t max_size);

  int32_t id(std::string_view token) const;    // kUnk when absent
  const std::string& token(int32_t id) const;  // throws attn::Error when out of range
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  std::vector<int32_t> encode(const std::vector<std::string>& tokens) const;

  // One token per line, atomically.
  void save(const std::string& path) const;
  // Rejects (attn::Error with path:line) an empty file, anything but <pad> and <unk> on lines 1 and 2, empty or
  // duplicate tokens, carriage returns and invalid UTF-8.
  static Vocabulary load(const std::string& path);

 private:
  friend class TokenCounter;
  void add(std::string token);

  std::vector<std::string> tokens_;
  detail::StringMap<int32_t> ids_;
};

// Token counts; one per thread over a share of the documents, then merged, counts the same as one over all.
class TokenCounter {
 public:
  void add(const std::vector<std::string>& tokens);
  void merge(const TokenCounter& other);
  int64_t count(std::string_view token) const;  // 0 when never seen
  // As Vocabulary::build over the documents added.
  Vocabulary build(int64_t min_count, int64_t max_size) const;

 private:
  detail::StringMap<int64_t> counts_;
};

}  // namespace attn::text
