// Text classification end to end: train a model directory from labelled text, then load it to test, predict and
// explain. A model directory holds model.safetensors, config.json (ClassifyConfig), vocab.txt and, for
// SentencePiece, tokenizer.model (tfidf models: tfidf_features.txt instead of vocab.txt).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attn/data/text_dataset.h"
#include "attn/metrics/classification.h"
#include "attn/tasks/classify/config.h"
#include "attn/train/trainer.h"

namespace attn::tasks::classify {

struct TrainRequest {
  std::string train_path;
  std::string valid_path;  // empty: a stratified split of the training data (config.train.valid_fraction)
  data::TextReadOptions read;
  ClassifyConfig config;
  std::string output_dir;
  bool resume = false;     // continue from <output_dir>.checkpoint
  bool progress = true;    // progress bar / log lines on stderr
  // Seed of the validation split and the tokenizer's training (default: config.train.seed). An ensemble's members
  // share it, so they see the same tokens and are validated on the same held-out texts.
  std::optional<uint64_t> data_seed;
};

struct TrainSummary {
  int64_t train_examples = 0, valid_examples = 0, skipped = 0;
  int64_t vocabulary = 0;                   // token types (tfidf: features)
  metrics::ClassificationReport valid;      // of the kept (best) model
  std::vector<std::string> labels;
  train::TrainResult result;                // neural models
  double seconds = 0;
  double examples_per_second = 0, tokens_per_second = 0;  // training throughput
  bool interrupted = false;                 // Ctrl-C: checkpoint written, no model directory
};

// Reads the data, fits the text encoder, trains, and writes the model directory atomically (an interrupted run
// leaves a checkpoint at <output_dir>.checkpoint and the old directory, if any, untouched). An ensemble trains its
// members one after another as model directories under <output_dir>.members/ (a resumed run skips the finished
// ones and continues the one in progress), then writes them into <output_dir>/members/<k>/.
TrainSummary train_classifier(const TrainRequest& request);

struct Explanation {
  std::vector<std::string> tokens;
  std::vector<float> weights;        // attention over the tokens (tfidf: each token's share of the evidence)
  std::vector<float> probabilities;  // per class
};

class Classifier {
 public:
  // Throws attn::Error naming the file for a missing, corrupt or foreign (other task) model directory.
  static Classifier load(const std::string& dir);
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  ~Classifier();

  const ClassifyConfig& config() const;
  const std::vector<std::string>& labels() const { return config().labels; }
  // Probabilities [texts][classes] for raw texts.
  std::vector<std::vector<float>> predict_proba(const std::vector<std::string>& texts) const;
  std::vector<Explanation> explain(const std::vector<std::string>& texts) const;

  struct Impl;

 private:
  explicit Classifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Scores labelled examples; a label the model does not know is an attn::Error naming the example (file:line).
metrics::ClassificationReport evaluate(const Classifier& model, const std::vector<data::TextExample>& examples);

}  // namespace attn::tasks::classify
