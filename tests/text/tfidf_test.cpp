// TfidfVectorizer against scikit-learn's formulas: hand-computed values for a tiny corpus, and a brute-force
// double-precision reference (n-grams by string joining, df by sets) on random corpora for every option;
// unseen tokens, empty documents, determinism across thread counts, saved features and option validation.
#include "attn/text/tfidf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "attn/core/threads.h"
#include "attn/io/atomic_file.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::text {
namespace {

using Docs = std::vector<std::vector<std::string>>;
using testing::expect_error;
using testing::random_int;

// The fitted vocabulary and the tf-idf rows, computed the slow, obvious way.
struct Reference {
  std::vector<std::string> features;
  std::vector<double> idf;
  std::map<std::string, int32_t> index;

  Reference(const Docs& docs, const TfidfOptions& o) {
    std::map<std::string, std::set<size_t>> seen_in;
    for (size_t d = 0; d < docs.size(); ++d) {
      for (const auto& g : ngrams(docs[d], o)) seen_in[g].insert(d);
    }
    const double n = static_cast<double>(docs.size());
    std::vector<std::pair<int64_t, std::string>> kept;
    for (const auto& [g, in] : seen_in) {
      const auto df = static_cast<int64_t>(in.size());
      if (df >= o.min_df && df <= o.max_df * n) kept.emplace_back(-df, g);
    }
    std::sort(kept.begin(), kept.end());
    if (static_cast<int64_t>(kept.size()) > o.max_features) kept.resize(o.max_features);
    for (const auto& [neg_df, g] : kept) {
      index[g] = static_cast<int32_t>(features.size());
      features.push_back(g);
      idf.push_back(std::log((1.0 + n) / (1.0 - neg_df)) + 1.0);
    }
  }

  static std::vector<std::string> ngrams(const std::vector<std::string>& tokens, const TfidfOptions& o) {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string g;
      for (int n = 1; n <= o.ngram_max && i + n <= tokens.size(); ++n) {
        g += (n > 1 ? " " : "") + tokens[i + n - 1];
        if (n >= o.ngram_min) out.push_back(g);
      }
    }
    return out;
  }

  // Dense row of one document.
  std::vector<double> row(const std::vector<std::string>& tokens, const TfidfOptions& o) const {
    std::vector<double> tf(features.size(), 0.0);
    for (const auto& g : ngrams(tokens, o)) {
      if (auto it = index.find(g); it != index.end()) tf[it->second] += 1.0;
    }
    double sum_sq = 0.0;
    for (size_t f = 0; f < tf.size(); ++f) {
      if (tf[f] > 0.0) tf[f] = (o.sublinear_tf ? 1.0 + std::log(tf[f]) : tf[f]) * idf[f];
      sum_sq += tf[f] * tf[f];
    }
    if (o.norm_l2 && sum_sq > 0.0) {
      for (double& v : tf) v /= std::sqrt(sum_sq);
    }
    return tf;
  }
};

std::vector<float> dense_row(const SparseRows& x, int64_t r) {
  std::vector<float> out(x.cols, 0.0f);
  for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) out[x.indices[k]] = x.values[k];
  return out;
}

Docs random_docs(int n, int vocab, int max_len) {
  Docs docs(n);
  for (auto& d : docs) {
    const int64_t len = random_int(0, max_len);
    // a skewed vocabulary, so df varies widely; multi-byte tokens included
    for (int64_t i = 0; i < len; ++i) {
      const int64_t t = std::min(random_int(0, vocab - 1), random_int(0, vocab - 1));
      std::string token = t % 7 == 3 ? "é" : "w";
      d.push_back(token += std::to_string(t));
    }
  }
  return docs;
}

void expect_matches_reference(const Docs& docs, const Docs& queries, const TfidfOptions& o) {
  const Reference ref(docs, o);
  const TfidfVectorizer v = TfidfVectorizer::fit(docs, o);
  ASSERT_EQ(v.features(), ref.features);
  std::vector<float> idf(v.idf().begin(), v.idf().end());
  EXPECT_TRUE(testing::all_close(idf, ref.idf, 1e-6));
  const SparseRows x = v.transform(queries);
  ASSERT_EQ(x.rows(), static_cast<int64_t>(queries.size()));
  ASSERT_EQ(x.cols, v.num_features());
  for (size_t r = 0; r < queries.size(); ++r) {
    for (int64_t k = x.offsets[r] + 1; k < x.offsets[r + 1]; ++k) ASSERT_LT(x.indices[k - 1], x.indices[k]);
    for (int64_t k = x.offsets[r]; k < x.offsets[r + 1]; ++k) ASSERT_NE(x.values[k], 0.0f);
    EXPECT_TRUE(testing::all_close(dense_row(x, static_cast<int64_t>(r)), ref.row(queries[r], o), 1e-5, 1e-7))
        << "row " << r;
  }
}

TEST(Tfidf, HandComputedScikitLearnValues) {
  // TfidfVectorizer(sublinear_tf=True) on "a b a", "b c": idf(a) = idf(c) = ln(3/2) + 1, idf(b) = 1.
  TfidfOptions o;
  o.ngram_max = 1;
  o.min_df = 1;
  const TfidfVectorizer v = TfidfVectorizer::fit({{"a", "b", "a"}, {"b", "c"}}, o);
  ASSERT_EQ(v.features(), (std::vector<std::string>{"b", "a", "c"}));  // df 2 first, then ties by bytes
  EXPECT_NEAR(v.idf()[0], 1.0, 1e-7);
  EXPECT_NEAR(v.idf()[1], 1.4054651081081644, 1e-6);
  EXPECT_NEAR(v.idf()[2], 1.4054651081081644, 1e-6);
  const SparseRows x = v.transform({{"a", "b", "a"}, {"b", "c"}});
  EXPECT_EQ(x.offsets, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(x.indices, (std::vector<int32_t>{0, 1, 0, 2}));
  EXPECT_TRUE(testing::all_close(x.values, {0.3874113305052739, 0.9219069698164416, 0.5797386715376657,
                                            0.8148024746671689}));
}

TEST(Tfidf, BigramsAreTokensJoinedBySpaces) {
  TfidfOptions o;
  o.min_df = 1;
  o.ngram_min = 2;
  o.ngram_max = 3;
  const TfidfVectorizer v = TfidfVectorizer::fit({{"not", "good", "at", "all"}}, o);
  std::vector<std::string> f = v.features();
  std::sort(f.begin(), f.end());
  EXPECT_EQ(f, (std::vector<std::string>{"at all", "good at", "good at all", "not good", "not good at"}));
}

TEST(Tfidf, MatchesReferenceOnRandomCorpora) {
  for (int trial = 0; trial < 6; ++trial) {
    TfidfOptions o;
    o.ngram_min = static_cast<int>(random_int(1, 2));
    o.ngram_max = o.ngram_min + static_cast<int>(random_int(0, 2));
    o.min_df = random_int(1, 3);
    o.max_df = trial % 2 ? 1.0 : 0.6;
    o.max_features = trial % 3 ? 200000 : random_int(5, 40);
    o.sublinear_tf = trial % 2 == 0;
    o.norm_l2 = trial != 3;
    SCOPED_TRACE(to_json(o).dump());
    const Docs docs = random_docs(60, 30, 25);
    Docs queries = random_docs(20, 40, 25);  // tokens w30..w39 were never seen
    queries.insert(queries.end(), docs.begin(), docs.begin() + 10);
    expect_matches_reference(docs, queries, o);
  }
}

TEST(Tfidf, MinDfMaxDfMaxFeatures) {
  const Docs docs = {{"x", "common", "rare"}, {"y", "common"}, {"x", "common"}, {"x", "common"}};
  TfidfOptions o;
  o.ngram_max = 1;
  o.min_df = 2;
  EXPECT_EQ(TfidfVectorizer::fit(docs, o).features(), (std::vector<std::string>{"common", "x"}));
  o.max_df = 0.9;  // common is in all 4 documents > 3.6
  EXPECT_EQ(TfidfVectorizer::fit(docs, o).features(), (std::vector<std::string>{"x"}));
  o.max_df = 0.75;  // x is in exactly 3 = 0.75 * 4: kept (scikit-learn keeps df <= max_df * n)
  EXPECT_EQ(TfidfVectorizer::fit(docs, o).features(), (std::vector<std::string>{"x"}));
  o.max_df = 1.0;
  o.min_df = 1;
  o.max_features = 2;
  EXPECT_EQ(TfidfVectorizer::fit(docs, o).features(), (std::vector<std::string>{"common", "x"}));
  o.max_features = 4;  // rare and y tie at df 1: byte order
  EXPECT_EQ(TfidfVectorizer::fit(docs, o).features(), (std::vector<std::string>{"common", "x", "rare", "y"}));
}

TEST(Tfidf, UnseenTokensAndEmptyDocuments) {
  TfidfOptions o;
  o.min_df = 1;
  const TfidfVectorizer v = TfidfVectorizer::fit({{"good", "film"}, {}, {"bad", "film"}}, o);
  const SparseRows x = v.transform({{"zzz", "qqq"}, {}, {"good", "zzz", "film"}, {"good", "film"}});
  EXPECT_EQ(x.offsets[1], 0);  // nothing known
  EXPECT_EQ(x.offsets[2], 0);  // empty
  // "good zzz" and "zzz film" are not features: row 2 holds good and film only, row 3 also "good film"
  EXPECT_EQ(x.offsets[3] - x.offsets[2], 2);
  EXPECT_EQ(x.offsets[4] - x.offsets[3], 3);
}

TEST(Tfidf, SameResultOnAnyThreadCount) {
  const Docs docs = random_docs(1500, 80, 60);  // enough tokens for the parallel paths
  TfidfOptions o;
  o.ngram_max = 3;
  o.max_features = 500;
  const int keep = num_threads();
  set_num_threads(1);
  const TfidfVectorizer a = TfidfVectorizer::fit(docs, o);
  const SparseRows xa = a.transform(docs);
  set_num_threads(3);
  const TfidfVectorizer b = TfidfVectorizer::fit(docs, o);
  const SparseRows xb = b.transform(docs);
  set_num_threads(keep);
  EXPECT_EQ(a.features(), b.features());
  EXPECT_EQ(a.idf(), b.idf());
  EXPECT_EQ(xa.offsets, xb.offsets);
  EXPECT_EQ(xa.indices, xb.indices);
  EXPECT_EQ(xa.values, xb.values);
}

TEST(Tfidf, Occurrences) {
  TfidfOptions o;
  o.min_df = 1;
  const TfidfVectorizer v = TfidfVectorizer::fit({{"a", "b"}, {"c"}}, o);
  std::vector<std::tuple<std::string, int32_t, int32_t>> got;
  for (const auto& occ : v.occurrences({"a", "b", "x", "a"})) got.emplace_back(v.feature(occ.feature), occ.start, occ.length);
  using T = std::tuple<std::string, int32_t, int32_t>;
  EXPECT_EQ(got, (std::vector<T>{T{"a", 0, 1}, T{"a b", 0, 2}, T{"b", 1, 1}, T{"a", 3, 1}}));
  EXPECT_TRUE(v.occurrences({}).empty());
}

TEST(Tfidf, FeaturesFileRoundTrip) {
  testing::TempDir dir;
  const Docs docs = random_docs(50, 30, 20);
  const TfidfVectorizer v = TfidfVectorizer::fit(docs, TfidfOptions{});
  v.write_features(dir.file("f.txt"));
  std::vector<std::string> read = TfidfVectorizer::read_features(dir.file("f.txt"));
  EXPECT_EQ(read, v.features());
  const TfidfVectorizer w = TfidfVectorizer::from_parts(read, v.idf(), v.options());
  const SparseRows a = v.transform(docs), b = w.transform(docs);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"f.txt"}));  // no temporary left behind
}

TEST(Tfidf, FeatureNamed) {
  TfidfOptions o;
  o.min_df = 1;
  const TfidfVectorizer v = TfidfVectorizer::fit({{"a"}}, o);
  EXPECT_EQ(v.feature(0), "a");
  expect_error([&] { v.feature(1); }, {"feature index 1", "[0, 1)"});
  expect_error([&] { v.feature(-1); }, {"feature index -1"});
}

TEST(Tfidf, BadInputsAreErrors) {
  TfidfOptions o;
  expect_error([&] { TfidfVectorizer::fit({}, o); }, {"no documents"});
  expect_error([&] { TfidfVectorizer::fit({{"a"}, {"b"}}, o); }, {"min_df=2", "2 documents"});
  expect_error([&] { TfidfVectorizer::fit({{"a", "b\nc"}}, o); }, {"token 1 of document 0", "line break"});
  o.ngram_min = 0;
  expect_error([&] { TfidfVectorizer::fit({{"a"}}, o); }, {"ngram_min", "got 0"});
  o = {};
  o.ngram_max = 0;
  expect_error([&] { validate(o); }, {"ngram_max"});
  o = {};
  o.max_df = 0.0;
  expect_error([&] { validate(o); }, {"max_df"});
  o = {};
  o.min_df = 0;
  expect_error([&] { validate(o); }, {"min_df"});
  o = {};
  o.max_features = 0;
  expect_error([&] { validate(o); }, {"max_features"});
}

TEST(Tfidf, FromPartsChecksAgreement) {
  const TfidfOptions o;
  expect_error([&] { TfidfVectorizer::from_parts({"a", "b"}, {1.0f}, o); }, {"2 features but 1 idf"});
  expect_error([&] { TfidfVectorizer::from_parts({"a", "b", "a"}, {1.0f, 1.0f, 1.0f}, o); },
               {"'a' occurs twice", "features 0 and 2"});
  expect_error([&] { TfidfVectorizer::from_parts({"a"}, {0.5f}, o); }, {"idf of feature 0", "0.5"});
  expect_error([&] { TfidfVectorizer::from_parts({"a"}, {NAN}, o); }, {"idf of feature 0"});
  expect_error([&] { TfidfVectorizer::from_parts({}, {}, o); }, {"no features"});
}

TEST(Tfidf, ReadFeaturesRejectsDamage) {
  testing::TempDir dir;
  io::write_file_atomic(dir.file("cut.txt"), "a\nb");
  expect_error([&] { TfidfVectorizer::read_features(dir.file("cut.txt")); }, {"cut.txt", "truncated"});
  io::write_file_atomic(dir.file("crlf.txt"), "a\r\nb\r\n");
  expect_error([&] { TfidfVectorizer::read_features(dir.file("crlf.txt")); }, {"crlf.txt:1", "carriage return"});
  expect_error([&] { TfidfVectorizer::read_features(dir.file("missing.txt")); }, {"missing.txt"});
}

TEST(Tfidf, OptionsJsonRoundTrip) {
  TfidfOptions o;
  o.ngram_min = 2;
  o.ngram_max = 4;
  o.min_df = 5;
  o.max_df = 0.5;
  o.max_features = 1234;
  o.sublinear_tf = false;
  o.norm_l2 = false;
  const TfidfOptions back = tfidf_options_from_json(to_json(o));
  EXPECT_EQ(to_json(back), to_json(o));
  EXPECT_EQ(tfidf_options_from_json(nlohmann::json::object()).ngram_max, TfidfOptions{}.ngram_max);
  expect_error([] { tfidf_options_from_json({{"ngram", 2}}); }, {"unknown key 'ngram'"});
  expect_error([] { tfidf_options_from_json({{"min_df", 0.5}}); }, {"'min_df' must be an integer"});
  expect_error([] { tfidf_options_from_json({{"sublinear_tf", 1}}); }, {"'sublinear_tf' must be true or false"});
  expect_error([] { tfidf_options_from_json({{"ngram_min", 3}}); }, {"ngram_max"});  // 3 > default max 2
  expect_error([] { tfidf_options_from_json(nlohmann::json::array()); }, {"expected a JSON object"});
}

}  // namespace
}  // namespace attn::text
