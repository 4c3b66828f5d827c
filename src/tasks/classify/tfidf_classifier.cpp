#include "attn/tasks/classify/tfidf_classifier.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "attn/core/error.h"
#include "attn/io/safetensors.h"

namespace attn::tasks::classify {
namespace {

constexpr const char* kOptionsKey = "tfidf_options";

// Runs f, prefixing the message of any attn::Error it throws with `where`.
template <class F>
auto with_context(const std::string& where, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

bool all_finite(const Tensor& t) {
  const float* p = t.data();
  return std::all_of(p, p + t.numel(), [](float v) { return std::isfinite(v); });
}

}  // namespace

TfidfClassifier TfidfClassifier::train(text::TfidfVectorizer vectorizer, const text::SparseRows& x,
                                       const std::vector<int32_t>& labels, int32_t num_classes,
                                       const LogisticOptions& options,
                                       const std::function<void(int, double)>& on_epoch) {
  ATTN_CHECK(x.cols == vectorizer.num_features(), "tfidf classifier: rows have {} columns, the vectorizer {} features",
             x.cols, vectorizer.num_features());
  LogisticModel model = fit_logistic(x, labels, num_classes, options, on_epoch);
  return TfidfClassifier(std::move(vectorizer), std::move(model));
}

std::vector<float> TfidfClassifier::predict_proba(const text::SparseRows& x) const {
  return classify::predict_proba(model_, x);
}

std::vector<float> TfidfClassifier::predict_proba(const std::vector<std::vector<std::string>>& docs) const {
  return predict_proba(vectorizer_.transform(docs));
}

std::vector<float> TfidfClassifier::token_contributions(const std::vector<std::string>& tokens, int32_t cls) const {
  ATTN_CHECK(cls >= 0 && cls < num_classes(), "tfidf classifier: class {} is not in [0, {})", cls, num_classes());
  const text::SparseRows row = vectorizer_.transform({tokens});
  const auto occurrences = vectorizer_.occurrences(tokens);
  std::unordered_map<int32_t, int> count;
  for (const auto& o : occurrences) ++count[o.feature];

  const int64_t f_total = model_.num_features;
  std::vector<double> share(tokens.size(), 0.0);
  for (const auto& o : occurrences) {
    const auto at = std::lower_bound(row.indices.begin(), row.indices.end(), o.feature);
    const double x = row.values[at - row.indices.begin()];
    double mean = 0.0;  // softmax ignores what all classes share; only the difference from the mean pushes
    for (int32_t k = 0; k < num_classes(); ++k) mean += model_.weight[k * f_total + o.feature];
    mean /= num_classes();
    const double push = x * (model_.weight[cls * f_total + o.feature] - mean) / (count[o.feature] * o.length);
    for (int32_t t = o.start; t < o.start + o.length; ++t) share[t] += push;
  }
  double total = 0.0;
  for (double& s : share) total += (s = std::max(s, 0.0));
  std::vector<float> out(tokens.size(), 0.0f);
  if (total > 0.0) {
    for (size_t t = 0; t < share.size(); ++t) out[t] = static_cast<float>(share[t] / total);
  }
  return out;
}

void TfidfClassifier::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  ATTN_CHECK(fs::is_directory(dir), "tfidf classifier save: '{}' is not a directory", dir);
  const int64_t f = model_.num_features;
  const int64_t c = model_.num_classes;
  io::NamedTensors tensors;
  tensors.emplace_back("idf", Tensor::from_vector({f}, vectorizer_.idf()));
  tensors.emplace_back("weight", Tensor::from_vector({c, f}, model_.weight));
  tensors.emplace_back("bias", Tensor::from_vector({c}, model_.bias));
  io::save_safetensors((fs::path(dir) / kWeightsFile).string(), tensors,
                       {{"format", "pt"}, {kOptionsKey, vectorizer_.config().dump()}});
  vectorizer_.write_features((fs::path(dir) / kFeaturesFile).string());
}

TfidfClassifier TfidfClassifier::load(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string weights_path = (fs::path(dir) / kWeightsFile).string();
  const std::string features_path = (fs::path(dir) / kFeaturesFile).string();
  std::vector<std::string> features = text::TfidfVectorizer::read_features(features_path);
  io::SafetensorsFile file = io::read_safetensors(weights_path);

  const auto meta = file.metadata.find(kOptionsKey);
  ATTN_CHECK(meta != file.metadata.end(), "{}: no '{}' in the metadata (not a tf-idf model?)", weights_path,
             kOptionsKey);
  const text::TfidfOptions options = with_context(weights_path, [&] {
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(meta->second);
    } catch (const std::exception& e) {
      ATTN_CHECK(false, "metadata '{}' is not valid JSON: {}", kOptionsKey, e.what());
    }
    return text::tfidf_options_from_json(value);
  });

  std::map<std::string, Tensor> tensors = io::to_map(file.tensors);
  for (const char* name : {"idf", "weight", "bias"}) {
    ATTN_CHECK(tensors.count(name), "{}: tensor '{}' is missing", weights_path, name);
  }
  ATTN_CHECK(tensors.size() == 3, "{}: expected exactly the tensors idf, weight and bias, found {}", weights_path,
             tensors.size());
  const Tensor& idf = tensors["idf"];
  const Tensor& weight = tensors["weight"];
  const Tensor& bias = tensors["bias"];
  const int64_t f = static_cast<int64_t>(features.size());
  ATTN_CHECK(idf.shape() == Shape{f}, "{}: 'idf' has shape {} but {} lists {} features", weights_path,
             shape_str(idf.shape()), features_path, f);
  ATTN_CHECK(weight.dim() == 2 && weight.size(1) == f && weight.size(0) >= 2,
             "{}: 'weight' has shape {}, expected [classes >= 2, {}] for the {} features of {}", weights_path,
             shape_str(weight.shape()), f, f, features_path);
  const int64_t c = weight.size(0);
  ATTN_CHECK(bias.shape() == Shape{c}, "{}: 'bias' has shape {}, expected [{}] as 'weight' is {}", weights_path,
             shape_str(bias.shape()), c, shape_str(weight.shape()));
  ATTN_CHECK(all_finite(weight) && all_finite(bias), "{}: 'weight' or 'bias' holds NaN or infinity", weights_path);

  text::TfidfVectorizer vectorizer = with_context(dir, [&] {
    return text::TfidfVectorizer::from_parts(std::move(features), idf.to_vector(), options);
  });
  LogisticModel model;
  model.num_classes = static_cast<int32_t>(c);
  model.num_features = f;
  model.weight = weight.to_vector();
  model.bias = bias.to_vector();
  return TfidfClassifier(std::move(vectorizer), std::move(model));
}

}  // namespace attn::tasks::classify
