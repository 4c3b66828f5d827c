#include "attn/tasks/seq2seq/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attn/core/error.h"

namespace attn::tasks::seq2seq {
namespace {

// A log-softmax's largest value is 0 up to rounding; anything above this is not a log-probability (raw logits?),
// and the stopping bound relies on log-probabilities being <= 0.
constexpr float kMaxLogProb = 1e-3f;
constexpr float kLowest = std::numeric_limits<float>::lowest();
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One (beam, token) extension; index = beam * vocab + token within the sentence, so that on equal scores the lower
// index wins: the deterministic tie-break.
struct Candidate {
  float score;  // cumulative log-probability
  int64_t index;
};

bool better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

struct Finished {
  float score, log_prob;
  int64_t node;    // history node of the row whose step produced the last token
  int32_t token;   // that last token: eos when complete
  int32_t length;  // tokens summed, eos included
  bool complete;
};

struct Sentence {
  int64_t batch_index = 0, source_length = 0, max_tokens = 0;
  int64_t first_row = 0, rows = 0;  // in the decoder's current rows
  std::vector<Candidate> heap;      // the step's best candidates; after selection, the kept beams, best first
  std::vector<Finished> finished;   // best first (ties: earlier first), at most beam_size
  std::vector<int32_t> history, banned;  // scratch: a row's tokens so far, and the tokens it may not take
  bool invalid = false;             // saw a value that is not a log-probability
  bool done = false;
};

float normalized(float log_prob, int64_t length, float alpha) {
  return log_prob / std::pow(static_cast<float>(length), alpha);
}

void check_options(std::span<const int64_t> source_lengths, const SearchOptions& o) {
  ATTN_CHECK(o.beam_size >= 1, "beam search: beam_size must be >= 1, got {}", o.beam_size);
  ATTN_CHECK(o.n_best >= 1 && o.n_best <= o.beam_size, "beam search: n_best must be in [1, beam_size = {}], got {}",
             o.beam_size, o.n_best);
  ATTN_CHECK(o.bos >= 0 && o.eos >= 0, "beam search: bos ({}) and eos ({}) must be token ids >= 0", o.bos, o.eos);
  ATTN_CHECK(std::isfinite(o.length_penalty), "beam search: length_penalty must be finite, got {}", o.length_penalty);
  ATTN_CHECK(std::isfinite(o.max_length_ratio) && o.max_length_ratio >= 0,
             "beam search: max_length_ratio must be finite and >= 0, got {}", o.max_length_ratio);
  ATTN_CHECK(o.max_length_extra >= 0, "beam search: max_length_extra must be >= 0, got {}", o.max_length_extra);
  ATTN_CHECK(o.max_length >= 1, "beam search: max_length must be >= 1, got {}", o.max_length);
  ATTN_CHECK(o.min_length >= 0, "beam search: min_length must be >= 0, got {}", o.min_length);
  ATTN_CHECK(o.no_repeat_ngram >= 0, "beam search: no_repeat_ngram must be >= 0, got {}", o.no_repeat_ngram);
  for (size_t i = 0; i < source_lengths.size(); ++i) {
    ATTN_CHECK(source_lengths[i] >= 0, "beam search: source_lengths[{}] = {} is negative", i, source_lengths[i]);
  }
}

// Appends to `banned` the tokens that would end an n-gram already in `history` (the row's tokens so far).
void repeated_ngram_ends(const std::vector<int32_t>& history, int n, std::vector<int32_t>& banned) {
  const auto length = static_cast<int64_t>(history.size()), prefix = static_cast<int64_t>(n) - 1;
  for (int64_t k = 0; k + n <= length; ++k) {  // the n-gram history[k, k + n) against the last n - 1 tokens
    if (std::equal(history.begin() + k, history.begin() + k + prefix, history.end() - prefix))
      banned.push_back(history[static_cast<size_t>(k + prefix)]);
  }
}

// Pushes into `heap` (a heap whose front is the worst of at most `want`) the candidates of one beam that beat it.
// Values are scanned in blocks: one vectorisable pass finds whether any beats the current worst (and whether any
// is not a log-probability); most blocks stop there. `banned` (sorted) are tokens never taken.
void scan_beam(const float* logp, int64_t vocab, float cumulative, int64_t index_base, std::span<const int32_t> banned,
               size_t want, std::vector<Candidate>& heap, bool& invalid) {
  float worst = heap.size() == want ? heap.front().score : kNegInf;
  auto consider = [&](int64_t token) {
    const float s = cumulative + logp[token];
    if (!(s > worst) || std::binary_search(banned.begin(), banned.end(), static_cast<int32_t>(token))) return;
    if (heap.size() == want) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = {s, index_base + token};
    } else {
      heap.push_back({s, index_base + token});
    }
    std::push_heap(heap.begin(), heap.end(), better);
    if (heap.size() == want) worst = heap.front().score;
  };
  constexpr int64_t kBlock = 32;
  int64_t j = 0;
  for (; j + kBlock <= vocab; j += kBlock) {
    int hit = 0, bad = 0;
    for (int64_t l = 0; l < kBlock; ++l) {
      const float x = logp[j + l];
      hit |= cumulative + x > worst;
      bad |= !(x <= kMaxLogProb) | !(x >= kLowest);
    }
    invalid |= bad != 0;
    if (hit) {
      for (int64_t l = 0; l < kBlock; ++l) consider(j + l);
    }
  }
  for (; j < vocab; ++j) {
    invalid |= !(logp[j] <= kMaxLogProb) || !(logp[j] >= kLowest);
    consider(j);
  }
}

// Inserts into the sentence's finished list if it is among the beam_size best; after equal scores.
void offer(Sentence& s, const Finished& f, size_t beam) {
  if (s.finished.size() == beam && !(f.score > s.finished.back().score)) return;
  if (s.finished.size() == beam) s.finished.pop_back();
  auto at = std::upper_bound(s.finished.begin(), s.finished.end(), f.score,
                             [](float score, const Finished& g) { return score > g.score; });
  s.finished.insert(at, f);
}

}  // namespace

int64_t max_target_length(int64_t source_length, const SearchOptions& options) {
  int64_t limit = options.max_length;
  if (options.max_length_ratio > 0) {
    const double by_ratio = std::ceil(static_cast<double>(options.max_length_ratio) * static_cast<double>(source_length));
    limit = static_cast<int64_t>(std::min<double>(static_cast<double>(limit), by_ratio + options.max_length_extra));
  }
  return std::max<int64_t>(limit, 1);
}

std::vector<std::vector<Hypothesis>> beam_search(StepDecoder& decoder, std::span<const int64_t> source_lengths,
                                                 const SearchOptions& options) {
  check_options(source_lengths, options);
  const auto beam = static_cast<size_t>(options.beam_size);
  const int64_t batch = static_cast<int64_t>(source_lengths.size());
  const float alpha = options.length_penalty;
  std::vector<std::vector<Hypothesis>> results(static_cast<size_t>(batch));
  if (batch == 0) return results;

  std::vector<Sentence> sentences(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    Sentence& s = sentences[static_cast<size_t>(b)];
    s.batch_index = b;
    s.source_length = source_lengths[static_cast<size_t>(b)];
    s.max_tokens = max_target_length(s.source_length, options);
    s.first_row = b;
    s.rows = 1;
    s.heap.reserve(2 * beam);
    s.finished.reserve(beam);
  }
  std::vector<Sentence*> active;
  for (auto& s : sentences) active.push_back(&s);

  // The search tree: one node per decoder row per step, holding the token fed at that step, the row's node at the
  // previous step and where its attention row is kept. The current rows are the last `rows` nodes, so the tokens
  // to feed are a span of node_token.
  std::vector<int32_t> node_token(static_cast<size_t>(batch), options.bos);
  std::vector<int64_t> node_parent(static_cast<size_t>(batch), -1);
  std::vector<int64_t> node_attention;
  std::vector<float> attention_rows;
  std::vector<float> row_score(static_cast<size_t>(batch), 0.0f), next_score;
  std::vector<int64_t> parents;
  int64_t rows = batch, vocab = 0;
  Tensor attention;

  for (int64_t step = 0;; ++step) {
    const int64_t base = static_cast<int64_t>(node_token.size()) - rows;
    Tensor logp = decoder.step(std::span<const int32_t>(node_token.data() + base, static_cast<size_t>(rows)),
                               options.keep_attention ? &attention : nullptr);
    if (step == 0) {
      ATTN_CHECK(logp.defined() && logp.dim() == 2 && logp.size(0) == rows && logp.size(1) >= 2,
                 "beam search: step 0 returned log-probabilities {} for {} rows; expected [{}, vocab >= 2]",
                 logp.defined() ? shape_str(logp.shape()) : "(undefined)", rows, rows);
      vocab = logp.size(1);
      ATTN_CHECK(options.eos < vocab && options.bos < vocab,
                 "beam search: bos ({}) and eos ({}) must be in the vocabulary of {} tokens", options.bos, options.eos,
                 vocab);
    } else {
      ATTN_CHECK(logp.defined() && logp.shape() == Shape({rows, vocab}),
                 "beam search: step {} returned log-probabilities {}; expected [{}, {}] (rows, vocabulary)", step,
                 logp.defined() ? shape_str(logp.shape()) : "(undefined)", rows, vocab);
    }
    logp = logp.contiguous();

    if (options.keep_attention) {
      int64_t longest = 0;
      for (const Sentence* s : active) longest = std::max(longest, s->source_length);
      ATTN_CHECK(attention.defined() && attention.dim() == 2 && attention.size(0) == rows &&
                     attention.size(1) >= longest,
                 "beam search: step {} returned attention {}; expected [{}, >= {}] (rows, longest source)", step,
                 attention.defined() ? shape_str(attention.shape()) : "(undefined)", rows, longest);
      const Tensor a = attention.contiguous();
      for (const Sentence* s : active) {
        for (int64_t r = s->first_row; r < s->first_row + s->rows; ++r) {
          node_attention.push_back(static_cast<int64_t>(attention_rows.size()));
          const float* src = a.data() + r * a.size(1);
          attention_rows.insert(attention_rows.end(), src, src + s->source_length);
        }
      }
    }

    // Per sentence: the best candidates, then new beams and finished hypotheses. Sentences are independent, so
    // they run in parallel when there is enough work; nothing in the loop throws.
    const float* lp = logp.data();
    const int64_t forbidden = step < options.min_length ? options.eos : -1;
    const auto n_active = static_cast<int64_t>(active.size());
#pragma omp parallel for schedule(dynamic, 1) if (n_active > 1 && rows * vocab >= (1 << 16))
    for (int64_t a = 0; a < n_active; ++a) {
      Sentence& s = *active[static_cast<size_t>(a)];
      const size_t want = beam + static_cast<size_t>(s.rows);  // at most one eos per beam
      s.heap.clear();
      for (int64_t i = 0; i < s.rows; ++i) {
        const int64_t r = s.first_row + i;
        s.banned.clear();
        if (forbidden >= 0) s.banned.push_back(static_cast<int32_t>(forbidden));
        if (options.no_repeat_ngram > 0 && step >= options.no_repeat_ngram) {
          s.history.clear();
          for (int64_t node = base + r; node_parent[static_cast<size_t>(node)] >= 0;
               node = node_parent[static_cast<size_t>(node)])
            s.history.push_back(node_token[static_cast<size_t>(node)]);
          std::reverse(s.history.begin(), s.history.end());
          repeated_ngram_ends(s.history, options.no_repeat_ngram, s.banned);
        }
        std::sort(s.banned.begin(), s.banned.end());
        scan_beam(lp + r * vocab, vocab, row_score[static_cast<size_t>(r)], i * vocab, s.banned, want, s.heap,
                  s.invalid);
      }
      if (s.invalid) continue;  // reported below
      std::sort_heap(s.heap.begin(), s.heap.end(), better);

      const bool at_limit = step + 1 == s.max_tokens;
      size_t kept = 0;
      for (const Candidate& c : s.heap) {
        const auto token = static_cast<int32_t>(c.index % vocab);
        const int64_t node = base + s.first_row + c.index / vocab;
        const auto length = static_cast<int32_t>(step + 1);
        if (token == options.eos) {
          offer(s, {normalized(c.score, length, alpha), c.score, node, token, length, true}, beam);
          continue;
        }
        if (at_limit) offer(s, {normalized(c.score, length, alpha), c.score, node, token, length, false}, beam);
        s.heap[kept++] = c;
        if (kept == beam) break;
      }
      s.heap.resize(kept);
      if (kept == 0) {  // every continuation is eos or banned: the rows end here, incomplete, if none finished
        const bool none_finished = s.finished.empty();
        for (int64_t i = 0; step > 0 && none_finished && i < s.rows; ++i) {
          const float sum = row_score[static_cast<size_t>(s.first_row + i)];
          const auto node = static_cast<size_t>(base + s.first_row + i);  // fed the row's last token
          offer(s, {normalized(sum, step, alpha), sum, node_parent[node], node_token[node], static_cast<int32_t>(step),
                    false}, beam);
        }
        s.done = true;
      } else if (at_limit) {
        s.done = true;
      } else if (s.finished.size() == beam) {
        const float best = s.heap.front().score;
        const float bound = std::max(normalized(best, step + 2, alpha), normalized(best, s.max_tokens, alpha));
        s.done = options.stopping == Stopping::kEarly || bound <= s.finished.back().score;
      }
    }

    for (const Sentence* s : active) {
      if (!s->invalid) continue;
      for (int64_t r = s->first_row; r < s->first_row + s->rows; ++r) {
        for (int64_t v = 0; v < vocab; ++v) {
          const float x = lp[r * vocab + v];
          ATTN_CHECK(x <= kMaxLogProb && x >= kLowest,
                     "beam search: step {} returned {} at row {}, token {}: log-probabilities must be finite and <= 0",
                     step, x, r, v);
        }
      }
    }

    // The next rows: each remaining sentence's new beams, best first, in batch order.
    parents.clear();
    next_score.clear();
    size_t still = 0;
    for (Sentence* s : active) {
      if (s->done) continue;
      const int64_t first = static_cast<int64_t>(parents.size());
      for (const Candidate& c : s->heap) {
        const int64_t row = s->first_row + c.index / vocab;
        parents.push_back(row);
        next_score.push_back(c.score);
        node_token.push_back(static_cast<int32_t>(c.index % vocab));
        node_parent.push_back(base + row);
      }
      s->first_row = first;
      s->rows = static_cast<int64_t>(parents.size()) - first;
      active[still++] = s;
    }
    active.resize(still);
    if (active.empty()) break;
    bool identity = static_cast<int64_t>(parents.size()) == rows;
    for (size_t r = 0; identity && r < parents.size(); ++r) identity = parents[r] == static_cast<int64_t>(r);
    if (!identity) decoder.select_rows(parents);
    rows = static_cast<int64_t>(parents.size());
    row_score.swap(next_score);
  }

  // Tokens and attention by following each kept hypothesis back to the root.
  std::vector<int64_t> path;
  for (Sentence& s : sentences) {
    auto& out = results[static_cast<size_t>(s.batch_index)];
    const size_t n = std::min(s.finished.size(), static_cast<size_t>(options.n_best));
    for (size_t h = 0; h < n; ++h) {
      const Finished& f = s.finished[h];
      path.clear();
      for (int64_t node = f.node; node >= 0; node = node_parent[static_cast<size_t>(node)]) path.push_back(node);
      std::reverse(path.begin(), path.end());  // path[i] fed token i (path[0]: bos) and produced token i + 1
      Hypothesis hyp;
      hyp.score = f.score;
      hyp.log_prob = f.log_prob;
      hyp.complete = f.complete;
      hyp.tokens.reserve(path.size());
      for (size_t i = 1; i < path.size(); ++i) hyp.tokens.push_back(node_token[static_cast<size_t>(path[i])]);
      if (!f.complete) hyp.tokens.push_back(f.token);
      if (options.keep_attention) {
        hyp.attention = Tensor::empty({static_cast<int64_t>(path.size()), s.source_length});
        float* dst = hyp.attention.data();
        for (int64_t node : path) {
          const float* src = attention_rows.data() + node_attention[static_cast<size_t>(node)];
          dst = std::copy(src, src + s.source_length, dst);
        }
      }
      out.push_back(std::move(hyp));
    }
  }
  return results;
}

std::vector<Hypothesis> greedy_search(StepDecoder& decoder, std::span<const int64_t> source_lengths,
                                      const SearchOptions& options) {
  SearchOptions greedy = options;
  greedy.beam_size = 1;
  greedy.n_best = 1;
  greedy.stopping = Stopping::kEarly;
  auto beams = beam_search(decoder, source_lengths, greedy);
  std::vector<Hypothesis> out;
  out.reserve(beams.size());
  for (auto& b : beams) out.push_back(std::move(b.front()));
  return out;
}

}  // namespace attn::tasks::seq2seq
