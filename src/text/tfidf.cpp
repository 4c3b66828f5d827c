#include "attn/text/tfidf.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/io/atomic_file.h"

namespace attn::text {
namespace {

constexpr uint64_t kMaxFeaturesFileBytes = uint64_t{1} << 31;
// Below this many tokens the work stays on the calling thread: waking the team costs more.
constexpr int64_t kParallelTokens = int64_t{1} << 15;

int64_t count_tokens(const std::vector<std::vector<std::string>>& docs) {
  int64_t n = 0;
  for (const auto& d : docs) n += static_cast<int64_t>(d.size());
  return n;
}

// An n-gram is known by a 64-bit hash of its text: FNV-1a over the bytes, fed token by token with the joining
// spaces (so a token sequence hashes as its joined text, and features read back from a file hash as at fit time),
// then mixed. Two distinct n-grams share a hash with probability 2^-64 per pair, far below anything a corpus
// reaches, and look-ups then cost one cache miss and no string comparison.
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

inline uint64_t fnv_byte(uint64_t h, unsigned char c) { return (h ^ c) * kFnvPrime; }
inline uint64_t fnv_bytes(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = fnv_byte(h, c);
  return h;
}
// FNV's low bits are weak; tables index by them after a full mix.
inline uint64_t finish(uint64_t h) { return mix64(h); }
uint64_t text_hash(std::string_view s) { return finish(fnv_bytes(kFnvOffset, s)); }

// Calls f(hash, start, n) for every n-gram of the wanted lengths, hashing each start's n-grams incrementally.
template <class F>
void for_each_ngram(const std::vector<std::string>& tokens, int ngram_min, int ngram_max, F&& f) {
  const size_t len = tokens.size();
  for (size_t i = 0; i < len; ++i) {
    uint64_t h = kFnvOffset;
    for (int n = 1; n <= ngram_max && i + n <= len; ++n) {
      if (n > 1) h = fnv_byte(h, ' ');
      h = fnv_bytes(h, tokens[i + n - 1]);
      if (n >= ngram_min) f(finish(h), i, n);
    }
  }
}

size_t table_size(size_t entries) {
  size_t size = 16;
  while (size < 2 * entries) size *= 2;
  return size;
}

// Document frequencies of the distinct n-grams of one shard, in one open-addressing table (linear probing, at
// most half full); each n-gram's text is kept once, in an arena.
class NgramCounter {
 public:
  struct Slot {
    uint64_t hash = 0;
    uint32_t last_doc = 0;  // 1 + the last document counted (so each counts once); 0: empty slot
    uint32_t df = 0;
    uint32_t text = 0;  // index into text_end_
  };

  NgramCounter() : slots_(table_size(1 << 16)) {}

  // doc1 = 1 + the document's index.
  void count(uint64_t hash, const std::vector<std::string>& tokens, size_t start, int n, uint32_t doc1) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.last_doc == 0) {
        for (int k = 0; k < n; ++k) {
          if (k > 0) arena_ += ' ';
          arena_ += tokens[start + k];
        }
        text_end_.push_back(arena_.size());
        s = {hash, doc1, 1, static_cast<uint32_t>(text_end_.size() - 1)};
        if (2 * text_end_.size() > slots_.size()) grow();
        return;
      }
      if (s.hash == hash) {
        if (s.last_doc != doc1) {
          s.last_doc = doc1;
          ++s.df;
        }
        return;
      }
    }
  }

  const std::vector<Slot>& slots() const { return slots_; }
  std::string_view text(const Slot& s) const {
    const uint64_t begin = s.text == 0 ? 0 : text_end_[s.text - 1];
    return std::string_view(arena_).substr(begin, text_end_[s.text] - begin);
  }

 private:
  void grow() {
    std::vector<Slot> slots(slots_.size() * 2);
    const size_t mask = slots.size() - 1;
    for (const Slot& s : slots_) {
      if (s.last_doc == 0) continue;
      size_t i = s.hash & mask;
      while (slots[i].last_doc != 0) i = (i + 1) & mask;
      slots[i] = s;
    }
    slots_.swap(slots);
  }

  std::string arena_;
  std::vector<uint64_t> text_end_;
  std::vector<Slot> slots_;
};

void check_token(const std::string& token, size_t doc, size_t pos) {
  ATTN_CHECK(token.find_first_of("\r\n") == std::string::npos,
             "tfidf fit: token {} of document {} contains a line break (tokens may not)", pos, doc);
}

}  // namespace

void validate(const TfidfOptions& o) {
  ATTN_CHECK(o.ngram_min >= 1, "tfidf options: ngram_min must be >= 1 (got {})", o.ngram_min);
  ATTN_CHECK(o.ngram_max >= o.ngram_min && o.ngram_max <= 16,
             "tfidf options: ngram_max must lie in [ngram_min, 16] (got ngram_min={}, ngram_max={})", o.ngram_min,
             o.ngram_max);
  ATTN_CHECK(o.min_df >= 1, "tfidf options: min_df must be >= 1 (got {})", o.min_df);
  ATTN_CHECK(o.max_df > 0.0 && o.max_df <= 1.0, "tfidf options: max_df must lie in (0, 1] (got {})", o.max_df);
  ATTN_CHECK(o.max_features >= 1 && o.max_features <= INT32_MAX,
             "tfidf options: max_features must lie in [1, 2^31) (got {})", o.max_features);
}

nlohmann::json to_json(const TfidfOptions& o) {
  return {{"ngram_min", o.ngram_min},       {"ngram_max", o.ngram_max},       {"min_df", o.min_df},
          {"max_df", o.max_df},             {"max_features", o.max_features}, {"sublinear_tf", o.sublinear_tf},
          {"norm_l2", o.norm_l2}};
}

TfidfOptions tfidf_options_from_json(const nlohmann::json& value) {
  ATTN_CHECK(value.is_object(), "tfidf options: expected a JSON object, got {}", value.type_name());
  TfidfOptions o;
  for (const auto& [key, v] : value.items()) {
    auto integer = [&, &key = key, &v = v](auto& field) {
      ATTN_CHECK(v.is_number_integer(), "tfidf options: '{}' must be an integer, got {}", key, v.dump());
      field = v.template get<std::remove_reference_t<decltype(field)>>();
    };
    auto boolean = [&, &key = key, &v = v](bool& field) {
      ATTN_CHECK(v.is_boolean(), "tfidf options: '{}' must be true or false, got {}", key, v.dump());
      field = v.template get<bool>();
    };
    if (key == "ngram_min") {
      integer(o.ngram_min);
    } else if (key == "ngram_max") {
      integer(o.ngram_max);
    } else if (key == "min_df") {
      integer(o.min_df);
    } else if (key == "max_features") {
      integer(o.max_features);
    } else if (key == "max_df") {
      ATTN_CHECK(v.is_number(), "tfidf options: 'max_df' must be a number, got {}", v.dump());
      o.max_df = v.get<double>();
    } else if (key == "sublinear_tf") {
      boolean(o.sublinear_tf);
    } else if (key == "norm_l2") {
      boolean(o.norm_l2);
    } else {
      ATTN_CHECK(false, "tfidf options: unknown key '{}'", key);
    }
  }
  validate(o);
  return o;
}

TfidfVectorizer TfidfVectorizer::fit(const std::vector<std::vector<std::string>>& docs, const TfidfOptions& options) {
  validate(options);
  ATTN_CHECK(!docs.empty(), "tfidf fit: no documents");
  ATTN_CHECK(docs.size() < UINT32_MAX, "tfidf fit: {} documents are more than 2^32 - 1", docs.size());
  const int64_t n_docs = static_cast<int64_t>(docs.size());

  for (size_t d = 0; d < docs.size(); ++d) {
    for (size_t i = 0; i < docs[d].size(); ++i) check_token(docs[d][i], d, i);
  }

  // Each thread counts the n-grams of one shard of the hash space over all documents: no locks, and the counts
  // (hence the result) do not depend on the number of threads.
  const int shards = count_tokens(docs) < kParallelTokens ? 1 : std::clamp(omp_get_max_threads(), 1, 64);
  std::vector<NgramCounter> counters(shards);
#pragma omp parallel for schedule(static, 1) num_threads(shards)
  for (int shard = 0; shard < shards; ++shard) {
    NgramCounter& counter = counters[shard];
    for (size_t d = 0; d < docs.size(); ++d) {
      const auto& tokens = docs[d];
      for_each_ngram(tokens, options.ngram_min, options.ngram_max, [&](uint64_t h, size_t start, int n) {
        if (static_cast<int>((h >> 40) % shards) == shard) counter.count(h, tokens, start, n, static_cast<uint32_t>(d + 1));
      });
    }
  }

  // scikit-learn's rule: a fractional max_df drops n-grams in more than max_df * n documents.
  const double max_count = options.max_df * static_cast<double>(n_docs);
  struct Candidate {
    int64_t df;
    std::string_view text;
  };
  std::vector<Candidate> kept;
  for (const auto& counter : counters) {
    for (const auto& s : counter.slots()) {
      if (s.last_doc != 0 && s.df >= options.min_df && s.df <= max_count) kept.push_back({s.df, counter.text(s)});
    }
  }
  ATTN_CHECK(!kept.empty(),
             "tfidf fit: no n-gram of length {}..{} occurs in at least min_df={} and at most max_df={} of the {} "
             "documents",
             options.ngram_min, options.ngram_max, options.min_df, options.max_df, n_docs);
  auto before = [](const Candidate& a, const Candidate& b) {
    return a.df != b.df ? a.df > b.df : a.text < b.text;
  };
  const size_t n_features = std::min<size_t>(kept.size(), static_cast<size_t>(options.max_features));
  if (n_features < kept.size()) {
    std::nth_element(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(n_features), kept.end(), before);
    kept.resize(n_features);
  }
  std::sort(kept.begin(), kept.end(), before);

  TfidfVectorizer v;
  v.options_ = options;
  v.features_.reserve(n_features);
  v.idf_.reserve(n_features);
  for (const Candidate& c : kept) {
    v.features_.emplace_back(c.text);
    v.idf_.push_back(static_cast<float>(std::log((1.0 + n_docs) / (1.0 + c.df)) + 1.0));
  }
  v.build_index();
  return v;
}

TfidfVectorizer TfidfVectorizer::from_parts(std::vector<std::string> features, std::vector<float> idf,
                                            const TfidfOptions& options) {
  validate(options);
  ATTN_CHECK(!features.empty(), "tfidf: no features");
  ATTN_CHECK(features.size() == idf.size(), "tfidf: {} features but {} idf values", features.size(), idf.size());
  ATTN_CHECK(static_cast<int64_t>(features.size()) <= options.max_features,
             "tfidf: {} features exceed max_features={}", features.size(), options.max_features);
  for (size_t i = 0; i < idf.size(); ++i) {
    // smooth idf is ln(...) + 1 >= 1 for any df <= n
    ATTN_CHECK(std::isfinite(idf[i]) && idf[i] >= 1.0f, "tfidf: idf of feature {} ('{}') is {} (must be >= 1)", i,
               features[i], idf[i]);
    ATTN_CHECK(features[i].find_first_of("\r\n") == std::string::npos, "tfidf: feature {} contains a line break", i);
  }
  TfidfVectorizer v;
  v.options_ = options;
  v.features_ = std::move(features);
  v.idf_ = std::move(idf);
  v.build_index();
  return v;
}

void TfidfVectorizer::build_index() {
  slots_.assign(table_size(features_.size()), Slot{});
  const size_t mask = slots_.size() - 1;
  for (size_t f = 0; f < features_.size(); ++f) {
    const uint64_t h = text_hash(features_[f]);
    size_t i = h & mask;
    for (; slots_[i].feature >= 0; i = (i + 1) & mask) {
      if (slots_[i].hash != h) continue;
      const auto& other = features_[slots_[i].feature];
      ATTN_CHECK(other != features_[f], "tfidf: feature '{}' occurs twice (features {} and {})", other,
                 slots_[i].feature, f);
      ATTN_CHECK(false, "tfidf: features '{}' and '{}' have the same 64-bit hash; drop one", other, features_[f]);
    }
    slots_[i] = {h, static_cast<int32_t>(f)};
  }
}

int32_t TfidfVectorizer::find(uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.feature < 0 || s.hash == hash) return s.feature;
  }
}

template <class F>
void TfidfVectorizer::for_each_feature(const std::vector<std::string>& tokens, F&& f) const {
  for_each_ngram(tokens, options_.ngram_min, options_.ngram_max, [&](uint64_t h, size_t start, int n) {
    const int32_t feature = find(h);
    if (feature >= 0) f(feature, start, n);
  });
}

SparseRows TfidfVectorizer::transform(const std::vector<std::vector<std::string>>& docs) const {
  const int64_t n = static_cast<int64_t>(docs.size());
  std::vector<std::vector<int32_t>> row_indices(docs.size());
  std::vector<std::vector<float>> row_values(docs.size());

  const bool parallel = count_tokens(docs) >= kParallelTokens;
#pragma omp parallel if (parallel)
  {
    std::vector<int32_t> ids;
    std::vector<double> row;
#pragma omp for schedule(dynamic, 64)
    for (int64_t d = 0; d < n; ++d) {
      ids.clear();
      for_each_feature(docs[d], [&](int32_t f, size_t, int) { ids.push_back(f); });
      std::sort(ids.begin(), ids.end());
      auto& indices = row_indices[d];
      row.clear();
      double sum_sq = 0.0;
      for (size_t i = 0; i < ids.size();) {
        size_t j = i;
        while (j < ids.size() && ids[j] == ids[i]) ++j;
        const double tf = static_cast<double>(j - i);
        const double x = (options_.sublinear_tf ? 1.0 + std::log(tf) : tf) * idf_[ids[i]];
        indices.push_back(ids[i]);
        row.push_back(x);
        sum_sq += x * x;
        i = j;
      }
      const double scale = options_.norm_l2 && sum_sq > 0.0 ? 1.0 / std::sqrt(sum_sq) : 1.0;
      row_values[d].reserve(row.size());
      for (double x : row) row_values[d].push_back(static_cast<float>(x * scale));
    }
  }

  SparseRows out;
  out.cols = num_features();
  out.offsets.assign(docs.size() + 1, 0);
  for (size_t d = 0; d < docs.size(); ++d) out.offsets[d + 1] = out.offsets[d] + row_indices[d].size();
  out.indices.resize(out.offsets.back());
  out.values.resize(out.offsets.back());
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t d = 0; d < n; ++d) {
    std::copy(row_indices[d].begin(), row_indices[d].end(), out.indices.begin() + out.offsets[d]);
    std::copy(row_values[d].begin(), row_values[d].end(), out.values.begin() + out.offsets[d]);
  }
  return out;
}

std::vector<TfidfVectorizer::Occurrence> TfidfVectorizer::occurrences(const std::vector<std::string>& tokens) const {
  std::vector<Occurrence> out;
  for_each_feature(tokens, [&](int32_t f, size_t start, int n) {
    out.push_back({f, static_cast<int32_t>(start), static_cast<int32_t>(n)});
  });
  return out;
}

const std::string& TfidfVectorizer::feature(int32_t index) const {
  ATTN_CHECK(index >= 0 && index < num_features(), "tfidf: feature index {} out of range [0, {})", index,
             num_features());
  return features_[index];
}

nlohmann::json TfidfVectorizer::config() const { return to_json(options_); }

void TfidfVectorizer::write_features(const std::string& path) const {
  io::write_file_atomic(path, [&](std::ostream& out) {
    for (const auto& f : features_) out << f << '\n';
  });
}

std::vector<std::string> TfidfVectorizer::read_features(const std::string& path) {
  const std::string text = io::read_file(path, kMaxFeaturesFileBytes);
  ATTN_CHECK(text.empty() || text.back() == '\n', "{}: the last line does not end with a line break (truncated?)",
             path);
  std::vector<std::string> features;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    std::string_view line(text.data() + pos, end - pos);
    ATTN_CHECK(line.find('\r') == std::string_view::npos, "{}:{}: carriage return in a feature", path,
               features.size() + 1);
    features.emplace_back(line);
    pos = end + 1;
  }
  return features;
}

}  // namespace attn::text
