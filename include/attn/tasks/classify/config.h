// Everything that defines a text classifier, as plain data that round-trips through the model directory's
// config.json: how text becomes tokens, the model's shape, and how it was trained. The CLI's flags and a
// --config JSON file both fill this one struct.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "attn/tasks/classify/logistic_regression.h"
#include "attn/text/clean.h"
#include "attn/text/tfidf.h"
#include "attn/text/tokenizer.h"

namespace attn::tasks::classify {

enum class ModelKind { kBiLstmAttention, kGruAttention, kTransformer, kTfidf };
const char* model_kind_name(ModelKind kind);           // "bilstm-attn", "gru-attn", "transformer", "tfidf"
ModelKind parse_model_kind(const std::string& name);  // throws attn::Error listing the kinds

struct PreprocessConfig {
  text::CleanOptions clean;
  text::TokenizerKind tokenizer = text::TokenizerKind::Words;
  int64_t sentencepiece_vocab = 8000;  // pieces, when tokenizer is sentencepiece
  std::string stop_words;              // "" (keep all), "en" or "zh"
  int64_t min_count = 2;               // vocabulary: tokens seen fewer times become <unk>
  int64_t max_vocab = 50000;           // vocabulary size including <pad> and <unk>; 0: unlimited
  int64_t max_length = 400;            // tokens kept per text (the rest is cut)
};

struct ModelConfig {
  ModelKind kind = ModelKind::kBiLstmAttention;
  int64_t embed_dim = 128;      // also the Transformer's width
  int64_t hidden = 128;         // recurrent state per direction
  int64_t layers = 1;           // recurrent or Transformer layers
  int64_t heads = 4;            // Transformer
  int64_t ff_dim = 512;         // Transformer feed-forward width
  int64_t attention_dim = 0;    // attention pooling's hidden size; 0: the pooled width
  std::string pool = "attention";  // or "attention-max": beside it, each feature's maximum over the tokens
  int64_t ensemble = 1;         // > 1: this many networks (seeds seed, seed + 1, ...) whose probabilities are averaged
  float dropout = 0.3f;
  float embed_dropout = 0.1f;   // dropout on the embeddings
  float word_dropout = 0.0f;    // share of tokens replaced by <unk> in training (whole words, not features)
  int64_t word_ngrams = 1;      // > 1: each token's embedding also sums hashed embeddings of the 2..N-grams
                                // ending at it (fastText's -wordNgrams; Chinese characters gain word-like units)
  int64_t ngram_buckets = 100000;  // rows of the n-gram table (fastText's -bucket), when word_ngrams > 1
  text::TfidfOptions tfidf;     // --model tfidf
  LogisticOptions logistic;     // --model tfidf
};

struct TrainConfig {
  int64_t epochs = 6;
  int64_t pretrain_epochs = 0;  // > 0: first this many epochs of language-model pretraining (recurrent models)
  float pretrain_lr = 5e-3f;     // its peak learning rate
  float pretrain_dropout = 0.1f; // its embedding and output dropout
  int64_t pretrain_vocab = 10000;  // tokens its output layer predicts: the most frequent; rarer ones are skipped
  int64_t batch_size = 64;
  std::string optimizer = "adam";  // adam, adamw
  float lr = 2e-3f;
  float weight_decay = 0.0f;
  std::string schedule = "linear";  // constant, linear, cosine (after warm-up)
  int64_t warmup_steps = 100;
  float clip_norm = 5.0f;   // 0: no clipping
  int64_t patience = 2;     // early stop after this many epochs without a better validation score; 0: never
  double max_minutes = 0;   // time budget of a run (TrainerOptions::max_seconds); 0: none
  float ema_decay = 0;      // moving average of the parameters (TrainerOptions::ema_decay); 0: off
  double valid_fraction = 0.2;  // held out of the training file when no --valid file is given
  uint64_t seed = 1;
  int64_t bucket_factor = 50;  // length bucketing: sort windows of batch*bucket_factor examples by length
};

struct ClassifyConfig {
  PreprocessConfig preprocess;
  ModelConfig model;
  TrainConfig train;
  std::vector<std::string> labels;  // class names, index = class id (filled by training)
};

// {"task": "classify", "version": 1, "preprocess": {...}, "model": {...}, "train": {...}, "labels": [...]}
nlohmann::json to_json(const ClassifyConfig& config);
// Strict: unknown fields, wrong types and impossible values are attn::Error naming `where` and the field. Fields
// left out keep their defaults, so a --config file may give only what it changes.
ClassifyConfig config_from_json(const nlohmann::json& j, const std::string& where);
// Overlays the fields present in `j` onto `config` (for --config on top of defaults).
void apply_json(ClassifyConfig& config, const nlohmann::json& j, const std::string& where);
// Throws attn::Error for values no model can be built or trained with; messages start with `where` (the
// config file, or "config" for flags).
void validate(const ClassifyConfig& config, const std::string& where = "config");

}  // namespace attn::tasks::classify
