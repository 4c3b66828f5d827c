// Tf-idf features of tokenised documents, as scikit-learn's TfidfVectorizer computes them (smooth idf,
// optional sublinear tf, l2-normalised rows), over word n-grams: an n-gram is its tokens joined by one space.
// The fast baseline of text classification feeds these sparse rows to a linear model.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attn::text {

struct TfidfOptions {
  int ngram_min = 1;
  int ngram_max = 2;
  int64_t min_df = 2;             // an n-gram must occur in at least this many documents
  double max_df = 1.0;            // and in at most this fraction of them
  int64_t max_features = 200000;  // the most frequent (by document frequency) are kept
  bool sublinear_tf = true;       // tf -> 1 + ln(tf)
  bool norm_l2 = true;            // rows scaled to unit length
};

// Throws attn::Error naming the first bad field.
void validate(const TfidfOptions& options);
nlohmann::json to_json(const TfidfOptions& options);
// Missing keys keep their defaults; unknown keys and bad values are errors.
TfidfOptions tfidf_options_from_json(const nlohmann::json& value);

// Compressed sparse rows: row r holds indices/values [offsets[r], offsets[r+1]), indices ascending.
struct SparseRows {
  std::vector<int64_t> offsets{0};  // rows + 1
  std::vector<int32_t> indices;
  std::vector<float> values;
  int64_t cols = 0;

  int64_t rows() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t nnz() const { return static_cast<int64_t>(indices.size()); }
};

class TfidfVectorizer {
 public:
  // Learns the n-grams kept as features and their idf = ln((1 + n) / (1 + df)) + 1. Features are ordered by
  // document frequency, highest first, ties by byte order of the n-gram, so the result depends only on the data.
  // Tokens may not contain line breaks (features are saved one per line).
  static TfidfVectorizer fit(const std::vector<std::vector<std::string>>& docs, const TfidfOptions& options);
  // A fitted vectorizer from its saved parts; checks that they agree (sizes, unique features, positive idf).
  static TfidfVectorizer from_parts(std::vector<std::string> features, std::vector<float> idf,
                                    const TfidfOptions& options);

  // One row per document, in parallel over documents; n-grams that are not features are ignored. N-grams are
  // matched by a 64-bit hash of their text (a false match between two texts has probability 2^-64).
  SparseRows transform(const std::vector<std::vector<std::string>>& docs) const;
  // Every occurrence of a feature in one document, as the token span [start, start + length) it covers (for
  // explanations), ordered by start, then length.
  struct Occurrence {
    int32_t feature;
    int32_t start;
    int32_t length;
  };
  std::vector<Occurrence> occurrences(const std::vector<std::string>& tokens) const;

  int64_t num_features() const { return static_cast<int64_t>(features_.size()); }
  const std::string& feature(int32_t index) const;
  const std::vector<std::string>& features() const { return features_; }
  const std::vector<float>& idf() const { return idf_; }
  const TfidfOptions& options() const { return options_; }
  nlohmann::json config() const;  // the options

  // The features file: line i is feature i, each line ending in '\n'. Written atomically; reading refuses a
  // missing last line break (a truncated file) and carriage returns.
  void write_features(const std::string& path) const;
  static std::vector<std::string> read_features(const std::string& path);

 private:
  TfidfVectorizer() = default;
  void build_index();
  int32_t find(uint64_t hash) const;  // the feature whose text has this hash, or -1
  template <class F>
  void for_each_feature(const std::vector<std::string>& tokens, F&& f) const;

  TfidfOptions options_;
  std::vector<std::string> features_;
  std::vector<float> idf_;
  // Open addressing over features_ (linear probing, a power of two in size, at most half full).
  struct Slot {
    uint64_t hash = 0;
    int32_t feature = -1;  // -1: empty
  };
  std::vector<Slot> slots_;
};

}  // namespace attn::text
