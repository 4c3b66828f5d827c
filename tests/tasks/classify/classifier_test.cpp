// Text classification end to end on a synthetic task (filler words plus one or two words that decide the class):
// every model kind learns it, the model directory reloads to the same predictions, attention lands on the
// deciding words, and bad data or broken model directories give clear errors.
#include "attn/tasks/classify/classifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attn/core/rng.h"
#include "attn/io/atomic_file.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::tasks::classify {
namespace {

using testing::expect_error;

namespace fs = std::filesystem;

const std::vector<std::string> kFiller = {"the", "report", "said", "on", "a", "new", "it", "was", "of", "today",
                                          "and", "after", "week", "people", "with", "from"};
const std::vector<std::vector<std::string>> kCues = {{"goal", "match", "coach"}, {"stocks", "profit", "bank"},
                                                     {"rocket", "software", "chip"}};
const std::vector<std::string> kLabels = {"sports", "business", "tech"};

struct Example {
  std::string text;
  int label;
  std::string cue;
};

std::vector<Example> make_examples(int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<Example> out;
  for (int i = 0; i < n; ++i) {
    const int label = int(rng.uniform_int(3));
    const int length = 4 + int(rng.uniform_int(9));
    std::vector<std::string> words(static_cast<size_t>(length));
    for (auto& w : words) w = kFiller[rng.uniform_int(kFiller.size())];
    const std::string cue = kCues[size_t(label)][rng.uniform_int(3)];
    words[rng.uniform_int(size_t(length))] = cue;
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
    if (i % 7 == 0) text[0] = char(std::toupper(text[0]));  // cleaning lowercases
    out.push_back({text, label, cue});
  }
  return out;
}

std::string write_tsv(const testing::TempDir& dir, const std::string& name, const std::vector<Example>& examples) {
  std::string body = "text\tlabel\n";
  for (const auto& e : examples) body += e.text + "\t" + kLabels[size_t(e.label)] + "\n";
  io::write_file_atomic(dir.file(name), body);
  return dir.file(name);
}

TrainRequest small_request(const testing::TempDir& dir, ModelKind kind) {
  TrainRequest r;
  r.train_path = write_tsv(dir, "train.tsv", make_examples(600, 1));
  r.output_dir = dir.file("model");
  r.progress = false;
  auto& c = r.config;
  c.model.kind = kind;
  c.model.embed_dim = 16;
  c.model.hidden = 16;
  c.model.heads = 2;
  c.model.ff_dim = 32;
  c.model.dropout = 0.0f;
  c.model.embed_dropout = 0.0f;
  c.preprocess.min_count = 1;
  c.train.epochs = 6;
  c.train.batch_size = 16;
  c.train.lr = 0.01f;
  c.train.warmup_steps = 10;
  return r;
}

class EveryModel : public ::testing::TestWithParam<ModelKind> {};

TEST_P(EveryModel, LearnsSavesReloadsAndExplains) {
  testing::TempDir dir;
  TrainRequest r = small_request(dir, GetParam());
  TrainSummary s = train_classifier(r);
  EXPECT_EQ(s.labels, (std::vector<std::string>{"business", "sports", "tech"}));
  EXPECT_EQ(s.train_examples + s.valid_examples, 600);
  EXPECT_NEAR(double(s.valid_examples), 120, 3);
  EXPECT_GE(s.valid.accuracy, 0.95) << model_kind_name(GetParam());
  for (const char* f : {"config.json", "model.safetensors"}) EXPECT_TRUE(fs::exists(fs::path(r.output_dir) / f)) << f;
  EXPECT_FALSE(fs::exists(r.output_dir + ".checkpoint")) << "a finished run leaves no checkpoint";

  Classifier model = Classifier::load(r.output_dir);
  const auto test = make_examples(90, 2);
  std::vector<data::TextExample> labelled;
  std::vector<std::string> texts;
  for (const auto& e : test) {
    labelled.push_back({e.text, kLabels[size_t(e.label)], "test"});
    texts.push_back(e.text);
  }
  EXPECT_GE(evaluate(model, labelled).accuracy, 0.95);
  const auto probs = model.predict_proba(texts);
  ASSERT_EQ(probs.size(), texts.size());
  for (const auto& p : probs) {
    ASSERT_EQ(p.size(), 3u);
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-5);
  }

  // The deciding word should carry the most weight in most texts (recurrent and self-attention layers can move
  // its evidence to neighbouring positions, so not in all).
  const auto explanations = model.explain(texts);
  int cue_on_top = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& x = explanations[i];
    ASSERT_EQ(x.tokens.size(), x.weights.size());
    EXPECT_EQ(x.probabilities, probs[i]);
    const size_t top = size_t(std::max_element(x.weights.begin(), x.weights.end()) - x.weights.begin());
    cue_on_top += x.tokens[top] == test[i].cue;
  }
  EXPECT_GE(cue_on_top, 60) << "of 90 (chance: about 11), model " << model_kind_name(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Classify, EveryModel,
                         ::testing::Values(ModelKind::kBiLstmAttention, ModelKind::kGruAttention,
                                           ModelKind::kTransformer, ModelKind::kTfidf),
                         [](const auto& info) {
                           std::string name = model_kind_name(info.param);
                           std::erase(name, '-');
                           return name;
                         });

TEST(Classify, SameSeedSameModel) {
  testing::TempDir a, b;
  TrainRequest ra = small_request(a, ModelKind::kBiLstmAttention), rb = small_request(b, ModelKind::kBiLstmAttention);
  ra.config.train.epochs = rb.config.train.epochs = 1;
  ra.config.model.dropout = rb.config.model.dropout = 0.3f;  // dropout draws from the seeded stream too
  train_classifier(ra);
  train_classifier(rb);
  EXPECT_EQ(io::read_file(ra.output_dir + "/model.safetensors", 1 << 24),
            io::read_file(rb.output_dir + "/model.safetensors", 1 << 24));
}

TEST(Classify, RejectsBadTrainingData) {
  testing::TempDir dir;
  TrainRequest r = small_request(dir, ModelKind::kBiLstmAttention);
  auto one_class = make_examples(20, 3);
  for (auto& e : one_class) e.label = 1;
  r.train_path = write_tsv(dir, "one.tsv", one_class);
  expect_error([&] { train_classifier(r); }, {"one.tsv", "'business'", "at least two classes"});

  r.train_path = write_tsv(dir, "train.tsv", make_examples(50, 4));
  auto valid = make_examples(10, 5);
  std::string body = "text\tlabel\n";
  for (const auto& e : valid) body += e.text + "\tweather\n";
  io::write_file_atomic(dir.file("valid.tsv"), body);
  r.valid_path = dir.file("valid.tsv");
  expect_error([&] { train_classifier(r); }, {"valid.tsv:2", "'weather'", "does not occur"});
  EXPECT_FALSE(fs::exists(r.output_dir)) << "nothing written on error";
}

TEST(Classify, RejectsBrokenModelDirectories) {
  testing::TempDir dir;
  TrainRequest r = small_request(dir, ModelKind::kBiLstmAttention);
  r.config.train.epochs = 1;
  train_classifier(r);
  const std::string m = r.output_dir;

  std::vector<data::TextExample> unseen = {{"the goal", "weather", "t.tsv:2"}};
  expect_error([&] { evaluate(Classifier::load(m), unseen); }, {"t.tsv:2", "'weather'", "business, sports, tech"});

  const std::string weights = io::read_file(m + "/model.safetensors", 1 << 24);
  io::write_file_atomic(m + "/model.safetensors", weights.substr(0, weights.size() / 2));
  expect_error([&] { Classifier::load(m); }, {"model.safetensors"});

  auto config = nlohmann::json::parse(io::read_file(m + "/config.json", 1 << 20));
  config["task"] = "translate";
  io::write_file_atomic(m + "/config.json", config.dump());
  expect_error([&] { Classifier::load(m); }, {"config.json", "'translate'"});
  expect_error([&] { Classifier::load(dir.file("nothing")); }, {"nothing", "no such model directory"});
  expect_error([&] { Classifier::load(dir.path()); }, {"not a model directory"});
}

TEST(Classify, AnEnsembleAveragesItsMembers) {
  testing::TempDir dir;
  TrainRequest r = small_request(dir, ModelKind::kBiLstmAttention);
  r.config.model.ensemble = 2;
  r.config.train.seed = 7;
  r.config.train.epochs = 4;
  const TrainSummary s = train_classifier(r);
  EXPECT_GE(s.valid.accuracy, 0.95);
  EXPECT_FALSE(fs::exists(r.output_dir + ".members")) << "the staging directory is removed";

  const Classifier ensemble = Classifier::load(r.output_dir);
  const Classifier first = Classifier::load(r.output_dir + "/members/1");
  const Classifier second = Classifier::load(r.output_dir + "/members/2");
  EXPECT_EQ(ensemble.config().model.ensemble, 2);
  EXPECT_EQ(first.config().train.seed, 7u);
  EXPECT_EQ(second.config().train.seed, 8u);
  std::vector<std::string> texts;
  for (const auto& e : make_examples(30, 9)) texts.push_back(e.text);
  const auto p = ensemble.predict_proba(texts), p1 = first.predict_proba(texts), p2 = second.predict_proba(texts);
  const auto x = ensemble.explain(texts), x1 = first.explain(texts), x2 = second.explain(texts);
  bool members_differ = false;
  for (size_t i = 0; i < texts.size(); ++i) {
    for (size_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(p[i][c], 0.5f * (p1[i][c] + p2[i][c]), 1e-6f) << i;
      EXPECT_NEAR(x[i].probabilities[c], p[i][c], 1e-6f) << i;
      members_differ = members_differ || std::abs(p1[i][c] - p2[i][c]) > 1e-4f;
    }
    ASSERT_EQ(x[i].tokens, x1[i].tokens);
    ASSERT_EQ(x[i].tokens, x2[i].tokens) << "the members share the tokenizer";
    for (size_t t = 0; t < x[i].weights.size(); ++t)
      EXPECT_NEAR(x[i].weights[t], 0.5f * (x1[i].weights[t] + x2[i].weights[t]), 1e-6f) << i;
  }
  EXPECT_TRUE(members_differ) << "the members are trained from different seeds";

  fs::remove_all(r.output_dir + "/members/2");
  expect_error([&] { Classifier::load(r.output_dir); }, {"members/2", "no such model directory"});
  r.config.model.kind = ModelKind::kTfidf;
  expect_error([&] { train_classifier(r); }, {"model.ensemble needs a neural model"});
}

}  // namespace
}  // namespace attn::tasks::classify
