// Everything that defines a sequence-to-sequence model (translation, summarisation) as plain data that round-trips
// through the model directory's config.json: subwords, the model's shape, training and decoding defaults. The
// CLI's flags and a --config JSON file both fill this one struct.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace attn::tasks::seq2seq {

struct SubwordConfig {
  std::string kind = "unigram";  // unigram, bpe (SentencePiece) or words
  int64_t vocab_size = 8000;     // per vocabulary (joint: the shared one)
  bool joint = true;             // one vocabulary trained on source and target text together
  int64_t min_count = 1;         // words: rarer words become <unk>
};

struct ModelConfig {
  std::string kind = "transformer";  // rnn-attn, transformer
  int64_t embed_dim = 256;           // also the Transformer's width
  int64_t hidden = 256;              // rnn-attn: encoder output (both directions together) and decoder state
  int64_t encoder_layers = 3;
  int64_t decoder_layers = 3;
  // rnn-attn
  std::string cell = "gru";            // gru, lstm
  std::string attention = "bahdanau";  // bahdanau (additive), luong (general)
  // transformer
  int64_t heads = 4;
  int64_t ff_dim = 1024;
  std::string positions = "sinusoidal";  // sinusoidal, learned
  bool norm_first = true;                // pre-LN
  bool share_embeddings = false;         // source and target embeddings are one table (needs a joint vocabulary)
  bool tie_output = true;                // the output layer reuses the target embedding
  bool copy = false;                     // pointer-generator output: copies source tokens (one vocabulary)
  float dropout = 0.1f;
  int64_t max_positions = 1024;  // learned positions: longest sequence
};

struct TrainConfig {
  int64_t epochs = 20;
  int64_t batch_tokens = 4096;  // source + target tokens per batch (before padding)
  std::string optimizer = "adam";  // adam, adamw
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  std::string schedule = "inverse_sqrt";  // constant, linear, cosine, inverse_sqrt
  int64_t warmup_steps = 1000;
  float clip_norm = 1.0f;
  float label_smoothing = 0.1f;
  int64_t patience = 5;
  double max_minutes = 0;  // time budget of a run (TrainerOptions::max_seconds); 0: none
  float ema_decay = 0;     // moving average of the parameters (TrainerOptions::ema_decay); 0: off
  uint64_t seed = 1;
  int64_t max_source_length = 128;  // subword tokens; longer sources and targets are cut (counted, warned)
  int64_t max_target_length = 128;
  std::string valid_metric = "bleu";  // bleu, chrf, rougeL, loss: what picks the best epoch
  int64_t valid_sentences = 0;       // validation sentences decoded (greedy) each epoch; 0: all
  int64_t bucket_factor = 50;
};

struct DecodeConfig {
  int64_t beam = 5;
  float length_penalty = 1.0f;
  float max_length_ratio = 1.5f;  // 0: only max_length applies
  int64_t max_length = 256;
  int64_t min_length = 0;
  int64_t no_repeat_ngram = 0;  // > 0: no n-gram of this many tokens occurs twice in an output
};

struct Seq2SeqConfig {
  std::string task = "translate";  // translate, summarize (decoding defaults)
  SubwordConfig subword;
  ModelConfig model;
  TrainConfig train;
  DecodeConfig decode;
};

// Defaults for summarisation: long source, short target, ROUGE picks the best epoch.
Seq2SeqConfig summarize_defaults();

// {"task": "seq2seq", "version": 1, "purpose": ..., "subword": {...}, "model": {...}, "train": {...}, "decode": {...}}
nlohmann::json to_json(const Seq2SeqConfig& config);
// Strict: unknown fields, wrong types and impossible values are attn::Error naming `where` and the field.
Seq2SeqConfig config_from_json(const nlohmann::json& j, const std::string& where);
void apply_json(Seq2SeqConfig& config, const nlohmann::json& j, const std::string& where);
void validate(const Seq2SeqConfig& config, const std::string& where = "config");

}  // namespace attn::tasks::seq2seq
