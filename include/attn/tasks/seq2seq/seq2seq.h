// Sequence to sequence end to end (translation, summarisation): train a model directory from sentence pairs, then
// load it to generate text, with n-best lists and source-target attention, and score output against references.
// A model directory holds model.safetensors, config.json and the subword model(s): subword.model when source and
// target share one vocabulary, else source.model and target.model.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attn/data/parallel_dataset.h"
#include "attn/tasks/seq2seq/config.h"
#include "attn/train/trainer.h"

namespace attn::tasks::seq2seq {

// Sentence pairs: a source and a target file, or one TSV with both.
struct ParallelFiles {
  std::string source, target, tsv;
  bool empty() const { return source.empty() && target.empty() && tsv.empty(); }
};
std::vector<data::ParallelExample> read_pairs(const ParallelFiles& files, const data::ParallelReadOptions& options,
                                              data::ParallelReadReport* report);

struct TrainRequest {
  ParallelFiles train;
  ParallelFiles valid;  // empty: 2% of the training pairs (at most 1000) are held out
  data::ParallelReadOptions read;
  Seq2SeqConfig config;
  std::string output_dir;
  bool resume = false;   // continue from <output_dir>.checkpoint
  bool progress = true;  // progress bar / log lines on stderr
};

struct TrainSummary {
  int64_t train_pairs = 0, valid_pairs = 0;
  int64_t empty_pairs = 0, bad_pairs = 0;                // skipped while reading
  int64_t truncated_sources = 0, truncated_targets = 0;  // cut to the configured maximum length
  int64_t source_vocab = 0, target_vocab = 0, parameters = 0;
  train::TrainResult result;
  std::vector<std::pair<std::string, double>> valid;  // the kept model's validation metrics
  double seconds = 0;
  double target_tokens_per_second = 0;  // training steps only
  bool interrupted = false;             // Ctrl-C: checkpoint written, no model directory
};

// Reads the data, trains the subword model(s) and the network, and writes the model directory atomically (an
// interrupted run leaves <output_dir>.checkpoint and the old directory, if any, untouched).
TrainSummary train_seq2seq(const TrainRequest& request);

struct GenerateOptions {
  DecodeConfig decode;
  int64_t n_best = 1;
  bool attention = false;        // keep the best hypothesis' source-target attention
  int64_t attention_layer = -1;  // transformer: the decoder layer whose cross-attention is shown (-1: last)
  int64_t attention_head = -1;   // transformer: the head shown (-1: the mean over heads)
  int64_t batch_size = 32;       // sentences decoded together
};

struct Generation {
  std::vector<std::string> texts;  // n-best, best first; one empty text for an empty source
  std::vector<float> scores;       // log-probability / length^length_penalty
  bool truncated = false;          // the source was cut to the model's maximum source length
  // With GenerateOptions::attention: pieces of the source and of the best output (with "</s>" when complete),
  // and the weights [target_pieces, source_pieces] row-major.
  std::vector<std::string> source_pieces, target_pieces;
  std::vector<float> attention;
};

class Seq2Seq {
 public:
  // Throws attn::Error naming the file for a missing, corrupt or foreign (other task) model directory.
  static Seq2Seq load(const std::string& dir);
  Seq2Seq(Seq2Seq&&) noexcept;
  Seq2Seq& operator=(Seq2Seq&&) noexcept;
  ~Seq2Seq();

  const Seq2SeqConfig& config() const;
  std::vector<Generation> generate(const std::vector<std::string>& sources, const GenerateOptions& options) const;

  struct Impl;

 private:
  explicit Seq2Seq(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Corpus BLEU (sacreBLEU defaults), chrF and ROUGE-1/2/L F1 of hypotheses against one reference each:
// {"bleu", "chrf", "rouge1", "rouge2", "rougeL"} (BLEU and chrF 0..100, ROUGE 0..1).
std::vector<std::pair<std::string, double>> score_texts(const std::vector<std::string>& hypotheses,
                                                        const std::vector<std::string>& references);

}  // namespace attn::tasks::seq2seq
