// Decoding for sequence-to-sequence models (translation, summarisation): batched beam search and greedy search
// over any decoder that can advance many hypotheses by one token at once and rearrange its per-row state. The
// search knows nothing of the model; an RNN decoder or a Transformer decoder with a key/value cache implements
// StepDecoder.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::tasks::seq2seq {

// What a search drives. The decoder holds a state with one row per live hypothesis; at the start, one row per
// sentence, in batch order.
class StepDecoder {
 public:
  virtual ~StepDecoder() = default;
  // Feeds each row its previous token (bos at the first step) and returns the log-probabilities of the next
  // token, [rows, vocab] with rows = previous_tokens.size(); advances every row's state by one position. When
  // attention is not null, also sets *attention to [rows, S]: this step's weights over the source positions of
  // the row's sentence, S >= that sentence's source length (columns past it are ignored).
  virtual Tensor step(std::span<const int32_t> previous_tokens, Tensor* attention) = 0;
  // Rebuilds the state from rows `rows` of the current state, in that order (a row may appear several times, rows
  // may be dropped): expands sentences into beams, reorders beams and drops finished sentences. Never called with
  // the identity.
  virtual void select_rows(std::span<const int64_t> rows) = 0;
};

// When a sentence stops before its length limit.
enum class Stopping {
  // Once beam_size hypotheses are finished and no live one can still beat the worst of them, whatever tokens
  // follow (log-probabilities are <= 0, so a live hypothesis with sum c and n tokens can at best reach
  // max(c / (n+1)^alpha, c / limit^alpha)). The result is then the same as searching on to the length limit
  // (HF transformers' early_stopping="never"). With alpha > 0 this may search long after the best is found.
  kBound,
  // As soon as beam_size hypotheses are finished (fairseq; HF early_stopping=True): faster, may miss a longer
  // hypothesis that the length penalty would have preferred.
  kEarly,
};

struct SearchOptions {
  int32_t bos = 0, eos = 1;     // start token fed at the first step; end token
  int beam_size = 5;            // 1 with Stopping::kEarly = greedy
  int n_best = 1;               // hypotheses returned per sentence (<= beam_size)
  // Final score = log_prob / length^length_penalty, length = tokens whose log-probabilities are summed (eos
  // included when present), as fairseq's lenpen and Marian's --normalize. 0 = raw sum; > 0 favours longer output.
  float length_penalty = 1.0f;
  float max_length_ratio = 0;   // > 0: at most ceil(ratio * source_length) + max_length_extra target tokens
  int max_length_extra = 10;
  int max_length = 256;         // hard cap on target tokens (eos excluded)
  int min_length = 0;           // eos forbidden before this many tokens
  // > 0: no n-gram of this many tokens occurs twice in an output (fairseq's --no-repeat-ngram-size): a token that
  // would repeat one is never taken. A hypothesis left with no allowed token ends there, incomplete, unless the
  // sentence already has a finished one.
  int no_repeat_ngram = 0;
  Stopping stopping = Stopping::kBound;
  bool keep_attention = false;  // collect each hypothesis' attention rows
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // without bos and eos
  float score = 0;              // log_prob / length^length_penalty
  float log_prob = 0;           // sum of the tokens' log-probabilities, eos included when complete
  bool complete = true;         // ended with eos; false: cut at the length limit
  Tensor attention;             // [tokens (+1 for eos when complete), source_length] when kept
};

// Target tokens (eos excluded) a sentence may get: min(max_length, ceil(ratio * source_length) + extra) when
// max_length_ratio > 0, else max_length; at least 1. Decoders may use it to size caches.
int64_t max_target_length(int64_t source_length, const SearchOptions& options);

// Beam search over a batch of sentences; the decoder starts with one row per sentence (source_lengths.size()
// rows). At each step every unfinished sentence takes the best beam_size + live candidates (cumulative
// log-probability; ties to the lower beam, then the lower token) over live beams x vocabulary. Walking them best
// first until beam_size candidates without eos have been kept as the new beams, each eos candidate met on the way
// finishes its hypothesis; a sentence keeps its beam_size best finished ones by final score. A sentence stops by
// options.stopping, when no candidate is left, or at its length limit, where its new beams are finished as they
// are (complete = false); its rows are then dropped from the decoder. Returns up to n_best hypotheses per
// sentence (fewer only when fewer sequences exist), best score first; ties keep the earlier finished one.
// Throws attn::Error for invalid options, a log-probability tensor of the wrong shape, or log-probabilities that
// are not finite or are positive.
std::vector<std::vector<Hypothesis>> beam_search(StepDecoder& decoder, std::span<const int64_t> source_lengths,
                                                 const SearchOptions& options);

// The most probable token at each step (the lower token on ties) until eos or the length limit: beam_search with
// beam_size = n_best = 1 and Stopping::kEarly; the other options apply as they are. One hypothesis per sentence.
std::vector<Hypothesis> greedy_search(StepDecoder& decoder, std::span<const int64_t> source_lengths,
                                      const SearchOptions& options);

}  // namespace attn::tasks::seq2seq
