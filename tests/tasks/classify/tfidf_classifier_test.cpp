// The tf-idf classifier: the logistic objective against a naive double reference and its gradient against
// finite differences; learning a separable 3-class problem; probabilities that match the data's frequencies;
// determinism across thread counts; token contributions; save/load round trips and damaged model directories.
#include "attn/tasks/classify/tfidf_classifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attn/core/threads.h"
#include "attn/io/atomic_file.h"
#include "attn/io/safetensors.h"
#include "attn/optim/lbfgs.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::tasks::classify {
namespace {

using Docs = std::vector<std::vector<std::string>>;
using testing::expect_error;
using testing::random_int;
using text::SparseRows;
using text::TfidfOptions;
using text::TfidfVectorizer;

// Documents of `classes` classes: each has one or two of its class's indicative words among shared noise words.
struct Corpus {
  Docs docs;
  std::vector<int32_t> labels;
};

Corpus make_corpus(int n, int classes) {
  Corpus c;
  for (int i = 0; i < n; ++i) {
    const auto label = static_cast<int32_t>(random_int(0, classes - 1));
    std::vector<std::string> doc;
    const int64_t len = random_int(4, 12);
    for (int64_t t = 0; t < len; ++t) doc.push_back("noise" + std::to_string(random_int(0, 40)));
    for (int64_t k = random_int(1, 2); k > 0; --k) {
      const std::string word = "class" + std::to_string(label) + "_" + std::to_string(random_int(0, 2));
      doc.insert(doc.begin() + random_int(0, static_cast<int64_t>(doc.size())), word);
    }
    c.docs.push_back(doc);
    c.labels.push_back(label);
  }
  return c;
}

SparseRows random_rows(int64_t rows, int64_t cols) {
  SparseRows x;
  x.cols = cols;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t f = 0; f < cols; ++f) {
      if (random_int(0, 2) == 0) {
        x.indices.push_back(static_cast<int32_t>(f));
        x.values.push_back(testing::random_floats(1, 0.1f, 1.0f)[0]);
      }
    }
    x.offsets.push_back(x.nnz());
  }
  return x;
}

// The objective written out plainly: softmax cross-entropy per row, weighted sum plus L2 on the weights only,
// divided by the sum of the example weights.
double reference_objective(const SparseRows& x, const std::vector<int32_t>& y, int c, double l2, bool balanced,
                           const std::vector<double>& p) {
  const int64_t f = x.cols;
  std::vector<double> count(c, 0.0);
  for (int32_t label : y) count[label] += 1.0;
  double sum = 0.0, weights = 0.0;
  for (int64_t r = 0; r < x.rows(); ++r) {
    std::vector<double> z(c);
    for (int k = 0; k < c; ++k) {
      z[k] = p[f * c + k];
      for (int64_t j = x.offsets[r]; j < x.offsets[r + 1]; ++j) z[k] += x.values[j] * p[x.indices[j] * c + k];
    }
    double norm = 0.0;
    for (int k = 0; k < c; ++k) norm += std::exp(z[k]);
    const double a = balanced ? y.size() / (c * count[y[r]]) : 1.0;
    sum += a * (std::log(norm) - z[y[r]]);
    weights += a;
  }
  double sq = 0.0;
  for (int64_t i = 0; i < f * c; ++i) sq += p[i] * p[i];
  return (sum + 0.5 * l2 * sq) / weights;
}

TEST(LogisticObjective, ValueAndGradientMatchReferences) {
  for (bool balanced : {false, true}) {
    const SparseRows x = random_rows(9, 5);
    const std::vector<int32_t> y{0, 1, 2, 2, 2, 1, 0, 2, 2};
    LogisticOptions o;
    o.l2 = 0.3;
    o.class_weight_balanced = balanced;
    const LogisticObjective objective(x, y, 3, o);
    ASSERT_EQ(objective.num_params(), 18);
    std::vector<double> p(18);
    for (double& v : p) v = testing::random_floats(1, -2.0f, 2.0f)[0];
    std::vector<double> grad(18);
    const double value = objective(p, grad);
    EXPECT_NEAR(value, reference_objective(x, y, 3, o.l2, balanced, p), 1e-12);
    const std::vector<double> numeric = testing::numeric_gradient(
        [&](const std::vector<double>& q) { return reference_objective(x, y, 3, o.l2, balanced, q); }, p);
    for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(grad[i], numeric[i], 1e-7) << "param " << i;
  }
}

TEST(LogisticObjective, BinaryFormIsTheFullObjectiveOnItsSubspace) {
  for (bool balanced : {false, true}) {
    const SparseRows x = random_rows(11, 6);
    const std::vector<int32_t> y{0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1};
    LogisticOptions o;
    o.l2 = 0.2;
    o.class_weight_balanced = balanced;
    const LogisticObjective objective(x, y, 2, o);
    ASSERT_EQ(objective.num_binary_params(), 7);
    std::vector<double> v(7);
    for (double& e : v) e = testing::random_floats(1, -3.0f, 3.0f)[0];
    std::vector<double> full(14);  // [features, 2] then bias [2]
    for (int f = 0; f < 7; ++f) {
      full[f * 2] = -0.5 * v[f];
      full[f * 2 + 1] = 0.5 * v[f];
    }
    std::vector<double> grad(7), full_grad(14);
    EXPECT_NEAR(objective.binary(v, grad), objective(full, full_grad), 1e-12);
    const std::vector<double> numeric = testing::numeric_gradient(
        [&](const std::vector<double>& q) {
          std::vector<double> g(7);
          return objective.binary(q, g);
        },
        v);
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(grad[i], numeric[i], 1e-7) << "param " << i;
  }
}

TEST(LogisticObjective, TwoClassFitReachesTheFullMinimum) {
  const SparseRows x = random_rows(40, 8);
  std::vector<int32_t> y;
  for (int i = 0; i < 40; ++i) y.push_back(static_cast<int32_t>(random_int(0, 1)));
  LogisticOptions o;
  o.l2 = 0.05;
  o.tolerance = 0.0;
  o.max_iterations = 500;
  const LogisticModel model = fit_logistic(x, y, 2, o);
  // Minimise the full softmax objective directly and compare the probabilities.
  const LogisticObjective objective(x, y, 2, o);
  std::vector<double> p(objective.num_params(), 0.0);
  optim::LbfgsOptions lo;
  lo.max_iterations = 500;
  lo.value_tolerance = 0.0;
  lo.gradient_tolerance = 1e-10;
  optim::minimize_lbfgs(std::cref(objective), p, lo);
  for (int f = 0; f < 8; ++f) {
    EXPECT_NEAR(model.weight[f], p[f * 2], 1e-5);
    EXPECT_NEAR(model.weight[8 + f], p[f * 2 + 1], 1e-5);
  }
  EXPECT_NEAR(model.bias[1] - model.bias[0], p[17] - p[16], 1e-5);
}

TEST(LogisticObjective, RejectsBadInputs) {
  const SparseRows x = random_rows(3, 4);
  const LogisticOptions o;
  expect_error([&] { LogisticObjective(x, {0, 1}, 2, o); }, {"2 labels for 3 rows"});
  expect_error([&] { LogisticObjective(x, {0, 1, 2}, 2, o); }, {"label 2 of example 2", "[0, 2)"});
  expect_error([&] { LogisticObjective(x, {0, 0, 0}, 1, o); }, {"at least 2 classes"});
  SparseRows bad = x;
  bad.indices[0] = 7;
  expect_error([&] { LogisticObjective(bad, {0, 1, 0}, 2, o); }, {"column index 7", "[0, 4)"});
  LogisticOptions neg;
  neg.l2 = -1.0;
  expect_error([&] { LogisticObjective(x, {0, 1, 0}, 2, neg); }, {"l2"});
  expect_error([&] { LogisticObjective(SparseRows{}, {}, 2, o); }, {"no training examples"});
  const LogisticObjective three(x, {0, 1, 2}, 3, o);
  std::vector<double> p(three.num_params()), g(p.size() - 1);
  expect_error([&] { three(p, g); }, {"gradients, expected 15"});
  expect_error([&] { three.binary(p, g); }, {"needs 2 classes"});
}

// Fraction of rows whose most probable class is the label, and the mean probability given to the label.
std::pair<double, double> accuracy_and_confidence(const std::vector<float>& p, const std::vector<int32_t>& labels,
                                                  int classes) {
  int correct = 0;
  double confidence = 0.0;
  for (size_t d = 0; d < labels.size(); ++d) {
    const float* row = p.data() + d * classes;
    double sum = 0.0;
    for (int k = 0; k < classes; ++k) sum += row[k];
    EXPECT_NEAR(sum, 1.0, 1e-5);
    correct += std::max_element(row, row + classes) - row == labels[d];
    confidence += row[labels[d]];
  }
  return {double(correct) / labels.size(), confidence / labels.size()};
}

TEST(TfidfClassifier, LearnsSeparableClasses) {
  const Corpus train = make_corpus(600, 3), test = make_corpus(300, 3);
  TfidfVectorizer v = TfidfVectorizer::fit(train.docs, TfidfOptions{});
  const SparseRows x = v.transform(train.docs);
  std::vector<double> losses;
  const TfidfClassifier model =
      TfidfClassifier::train(std::move(v), x, train.labels, 3, LogisticOptions{}, [&](int, double loss) {
        losses.push_back(loss);
      });
  ASSERT_GT(losses.size(), 1u);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_EQ(accuracy_and_confidence(model.predict_proba(x), train.labels, 3).first, 1.0);
  const std::vector<float> p = model.predict_proba(test.docs);
  ASSERT_EQ(p.size(), test.docs.size() * 3);
  const auto [accuracy, confidence] = accuracy_and_confidence(p, test.labels, 3);
  EXPECT_GE(accuracy, 0.99);
  EXPECT_GT(confidence, 0.8);
}

TEST(TfidfClassifier, ProbabilitiesFollowTheDataFrequencies) {
  // "good" is positive 80% of the time and "bad" 25%: with little regularisation the fitted probabilities are the
  // empirical frequencies (the maximum-likelihood solution of this two-feature problem).
  Docs docs;
  std::vector<int32_t> labels;
  for (int i = 0; i < 400; ++i) {
    docs.push_back({i % 2 ? "good" : "bad"});
    labels.push_back(i % 2 ? (i % 10 != 1) : (i % 8 == 0));
  }
  TfidfOptions to;
  to.ngram_max = 1;
  TfidfVectorizer v = TfidfVectorizer::fit(docs, to);
  const SparseRows x = v.transform(docs);
  LogisticOptions lo;
  lo.l2 = 1e-6;
  lo.tolerance = 1e-12;
  const TfidfClassifier model = TfidfClassifier::train(std::move(v), x, labels, 2, lo);
  const std::vector<float> p = model.predict_proba(Docs{{"good"}, {"bad"}});
  EXPECT_NEAR(p[1], 0.8, 2e-3);
  EXPECT_NEAR(p[3], 0.25, 2e-3);
}

TEST(TfidfClassifier, SameModelOnAnyThreadCount) {
  const Corpus train = make_corpus(2500, 3);  // enough values for the parallel paths
  const TfidfVectorizer v = TfidfVectorizer::fit(train.docs, TfidfOptions{});
  const SparseRows x = v.transform(train.docs);
  ASSERT_GT(x.nnz(), 1 << 15);
  const int keep = num_threads();
  set_num_threads(1);
  const TfidfClassifier a = TfidfClassifier::train(v, x, train.labels, 3, LogisticOptions{});
  set_num_threads(3);
  const TfidfClassifier b = TfidfClassifier::train(v, x, train.labels, 3, LogisticOptions{});
  set_num_threads(keep);
  EXPECT_EQ(a.model().weight, b.model().weight);
  EXPECT_EQ(a.model().bias, b.model().bias);
}

TEST(TfidfClassifier, BalancedClassWeightsRaiseTheRareClass) {
  // 10% of the documents are class 1 and the words say nothing: the plain model predicts the prior, 0.1, the
  // balanced one weighs both classes equally, 0.5.
  Docs docs;
  std::vector<int32_t> labels;
  for (int i = 0; i < 200; ++i) {
    docs.push_back({i % 3 ? "shared" : "other"});
    labels.push_back(i % 10 == 0);
  }
  TfidfOptions to;
  to.ngram_max = 1;
  const TfidfVectorizer v = TfidfVectorizer::fit(docs, to);
  const SparseRows x = v.transform(docs);
  LogisticOptions lo;
  const TfidfClassifier plain = TfidfClassifier::train(v, x, labels, 2, lo);
  lo.class_weight_balanced = true;
  const TfidfClassifier balanced = TfidfClassifier::train(v, x, labels, 2, lo);
  const Docs both{{"shared"}, {"other"}};
  const std::vector<float> p = plain.predict_proba(both), q = balanced.predict_proba(both);
  for (int d = 0; d < 2; ++d) {
    EXPECT_NEAR(p[d * 2 + 1], 0.1, 0.04);
    EXPECT_NEAR(q[d * 2 + 1], 0.5, 0.1);
  }
}

TEST(TfidfClassifier, TokenContributions) {
  const Corpus train = make_corpus(300, 3);
  TfidfVectorizer v = TfidfVectorizer::fit(train.docs, TfidfOptions{});
  const SparseRows x = v.transform(train.docs);
  const TfidfClassifier model = TfidfClassifier::train(std::move(v), x, train.labels, 3, LogisticOptions{});
  const std::vector<std::string> doc{"noise1", "class2_0", "noise7", "unknown", "noise1"};
  const std::vector<float> c = model.token_contributions(doc, 2);
  ASSERT_EQ(c.size(), doc.size());
  double sum = 0.0;
  for (float v : c) {
    EXPECT_GE(v, 0.0f);
    sum += v;
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(std::max_element(c.begin(), c.end()) - c.begin(), 1);
  EXPECT_GT(c[1], 0.5f);
  EXPECT_EQ(c[3], 0.0f);  // unknown token, and its bigrams are unknown too
  // Towards class 0, the class-2 word pushes away: it gets nothing.
  EXPECT_EQ(model.token_contributions(doc, 0)[1], 0.0f);
  EXPECT_EQ(model.token_contributions({"unknown"}, 0), std::vector<float>{0.0f});
  expect_error([&] { model.token_contributions(doc, 3); }, {"class 3", "[0, 3)"});
}

TEST(TfidfClassifier, TrainRejectsMismatchedRows) {
  const Corpus train = make_corpus(50, 2);
  const TfidfVectorizer v = TfidfVectorizer::fit(train.docs, TfidfOptions{});
  SparseRows x = v.transform(train.docs);
  x.cols += 1;
  expect_error([&] { TfidfClassifier::train(v, x, train.labels, 2, LogisticOptions{}); },
               {"columns", "features"});
  LogisticOptions lo;
  lo.max_iterations = 0;
  expect_error([&] { TfidfClassifier::train(v, v.transform(train.docs), train.labels, 2, lo); },
               {"max_iterations"});
}

class SavedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const Corpus train = make_corpus(150, 3);
    TfidfOptions to;
    to.ngram_max = 3;
    to.sublinear_tf = false;
    TfidfVectorizer v = TfidfVectorizer::fit(train.docs, to);
    const SparseRows x = v.transform(train.docs);
    model_ = std::make_unique<TfidfClassifier>(TfidfClassifier::train(std::move(v), x, train.labels, 3, {}));
    docs_ = make_corpus(40, 3).docs;
    model_->save(dir_.file(""));
  }
  std::string weights() const { return dir_.file(TfidfClassifier::kWeightsFile); }
  std::string features() const { return dir_.file(TfidfClassifier::kFeaturesFile); }

  testing::TempDir dir_;
  std::unique_ptr<TfidfClassifier> model_;
  Docs docs_;
};

TEST_F(SavedModel, RoundTripGivesIdenticalProbabilities) {
  EXPECT_EQ(dir_.entries(), (std::vector<std::string>{"model.safetensors", "tfidf_features.txt"}));
  const TfidfClassifier back = TfidfClassifier::load(dir_.file(""));
  EXPECT_EQ(back.predict_proba(docs_), model_->predict_proba(docs_));
  EXPECT_EQ(back.vectorizer().features(), model_->vectorizer().features());
  EXPECT_EQ(back.vectorizer().config(), model_->vectorizer().config());
  EXPECT_EQ(back.vectorizer().options().ngram_max, 3);
  EXPECT_EQ(back.num_classes(), 3);
  // Readable by any safetensors reader: idf [F], weight [C, F], bias [C].
  const auto tensors = io::to_map(io::load_safetensors(weights()));
  const int64_t f = model_->vectorizer().num_features();
  EXPECT_EQ(tensors.at("idf").shape(), (Shape{f}));
  EXPECT_EQ(tensors.at("weight").shape(), (Shape{3, f}));
  EXPECT_EQ(tensors.at("bias").shape(), (Shape{3}));
}

TEST_F(SavedModel, FeatureCountMismatchIsAnError) {
  std::string text = io::read_file(features(), 1 << 30);
  text.erase(text.rfind('\n', text.size() - 2) + 1);  // drop the last feature
  io::write_file_atomic(features(), text);
  const auto f = std::to_string(model_->vectorizer().num_features());
  const auto shown = std::to_string(model_->vectorizer().num_features() - 1);
  expect_error([&] { TfidfClassifier::load(dir_.file("")); },
               {"model.safetensors", ("'idf' has shape [" + f + "]").c_str(), "tfidf_features.txt", shown.c_str()});
}

TEST_F(SavedModel, WrongShapesAndValuesAreErrors) {
  const auto meta = io::safetensors_metadata(weights());
  auto tensors = io::to_map(io::load_safetensors(weights()));
  const int64_t f = model_->vectorizer().num_features();
  auto write = [&](const io::NamedTensors& t, const io::Metadata& m) { io::save_safetensors(weights(), t, m); };

  write({{"idf", tensors["idf"]}, {"weight", Tensor::zeros({3, f + 1})}, {"bias", tensors["bias"]}}, meta);
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {("'weight' has shape [3, " + std::to_string(f + 1) + "]").c_str()});
  write({{"idf", tensors["idf"]}, {"weight", tensors["weight"]}, {"bias", Tensor::zeros({2})}}, meta);
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"'bias' has shape [2]", "expected [3]"});
  write({{"idf", tensors["idf"]}, {"weight", tensors["weight"]}}, meta);
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"tensor 'bias' is missing"});
  Tensor nan = tensors["weight"].clone();
  nan.data()[5] = NAN;
  write({{"idf", tensors["idf"]}, {"weight", nan}, {"bias", tensors["bias"]}}, meta);
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"NaN or infinity"});
  write({{"idf", tensors["idf"]}, {"weight", tensors["weight"]}, {"bias", tensors["bias"]}}, {});
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"no 'tfidf_options'"});
  write({{"idf", tensors["idf"]}, {"weight", tensors["weight"]}, {"bias", tensors["bias"]}},
        {{"tfidf_options", "{\"ngram_max\": 0}"}});
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"model.safetensors", "ngram_max"});
  write({{"idf", tensors["idf"]}, {"weight", tensors["weight"]}, {"bias", tensors["bias"]}},
        {{"tfidf_options", "{not json"}});
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"model.safetensors", "not valid JSON"});
  Tensor low = tensors["idf"].clone();
  low.data()[0] = 0.0f;
  write({{"idf", low}, {"weight", tensors["weight"]}, {"bias", tensors["bias"]}}, meta);
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"idf of feature 0"});
}

TEST_F(SavedModel, MissingOrTruncatedFilesAreErrors) {
  const std::string bytes = io::read_file(weights(), 1 << 30);
  io::write_file_atomic(weights(), bytes.substr(0, bytes.size() - 4));
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"model.safetensors"});
  std::filesystem::remove(features());
  expect_error([&] { TfidfClassifier::load(dir_.file("")); }, {"tfidf_features.txt"});
  expect_error([&] { model_->save(dir_.file("no_such_dir")); }, {"no_such_dir", "not a directory"});
}

}  // namespace
}  // namespace attn::tasks::classify
