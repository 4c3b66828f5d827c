// Beam and greedy search against a toy decoder whose log-probabilities are fixed random functions of the
// sentence and the whole prefix: greedy against the argmax chain, beam search against a naive reference beam
// search that never stops early (so the stopping bound must not change the result) and, with a beam wide enough
// to hold every prefix, against brute-force enumeration; length rules, ties, batching, attention bookkeeping,
// the decoder's row state, and errors.
#include "attn/tasks/seq2seq/search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>

#include "attn/core/threads.h"
#include "support/test_util.h"

namespace attn::tasks::seq2seq {
namespace {

using testing::expect_error;
using testing::random_int;
using Tokens = std::vector<int32_t>;

constexpr int32_t kBos = 0, kEos = 1;

// Log-probabilities of the next token given the sentence and everything fed so far (bos first), from a generator
// seeded by a hash of both; eos gets likelier as the prefix grows so that hypotheses end.
struct ToyModel {
  int64_t vocab = 6;
  uint64_t seed = 1;
  double spread = 2.0;     // logit scale: larger is more peaked
  double eos_drift = 0.4;  // added to eos's logit per token fed
  double eos_bias = 0;     // added to eos's logit
  bool uniform = false;    // every token -log(vocab): all ties

  uint64_t hash(int64_t sentence, std::span<const int32_t> fed) const {
    uint64_t h = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(sentence) + 1;
    for (int32_t t : fed) h = (h ^ static_cast<uint64_t>(t + 7)) * 0x100000001B3ull + (h >> 29);
    return h;
  }

  std::vector<float> log_probs(int64_t sentence, std::span<const int32_t> fed) const {
    if (uniform) return std::vector<float>(static_cast<size_t>(vocab), -std::log(static_cast<float>(vocab)));
    std::mt19937_64 g(hash(sentence, fed));
    std::normal_distribution<double> d(0.0, spread);
    std::vector<double> logits(static_cast<size_t>(vocab));
    for (auto& x : logits) x = d(g);
    logits[kEos] += eos_bias + eos_drift * static_cast<double>(fed.size() - 1);
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double x : logits) sum += std::exp(x - mx);
    std::vector<float> out(logits.size());
    for (size_t v = 0; v < out.size(); ++v) out[v] = static_cast<float>(logits[v] - mx - std::log(sum));
    return out;
  }

  std::vector<float> attention(int64_t sentence, std::span<const int32_t> fed, int64_t source_length) const {
    std::mt19937_64 g(hash(sentence, fed) ^ 0xA5A5A5A5ull);
    std::uniform_real_distribution<float> d(0.01f, 1.0f);
    std::vector<float> w(static_cast<size_t>(source_length));
    for (auto& x : w) x = d(g);
    const float sum = std::accumulate(w.begin(), w.end(), 0.0f);
    for (auto& x : w) x /= sum;
    return w;
  }
};

// The model as a StepDecoder with one state row per hypothesis (its sentence and the tokens fed). Records the
// sentence of every row at every step; attention columns past a sentence's source are NaN, to be ignored.
class ToyDecoder : public StepDecoder {
 public:
  // ids: the model's sentence number of each batch position (default: the position).
  ToyDecoder(const ToyModel& model, std::vector<int64_t> source_lengths, std::vector<int64_t> ids = {})
      : model_(model), source_lengths_(std::move(source_lengths)), ids_(std::move(ids)) {
    if (ids_.empty()) ids_.resize(source_lengths_.size()), std::iota(ids_.begin(), ids_.end(), 0);
    for (size_t b = 0; b < source_lengths_.size(); ++b) rows_.push_back({static_cast<int64_t>(b), {}});
    for (int64_t s : source_lengths_) width_ = std::max(width_, s + 1);
  }

  Tensor step(std::span<const int32_t> previous_tokens, Tensor* attention) override {
    EXPECT_EQ(previous_tokens.size(), rows_.size());
    const auto n = static_cast<int64_t>(rows_.size());
    Tensor logp = Tensor::empty({n, model_.vocab});
    Tensor att = Tensor::full({n, width_}, std::numeric_limits<float>::quiet_NaN());
    std::vector<int64_t> sentences;
    for (int64_t r = 0; r < n; ++r) {
      Row& row = rows_[static_cast<size_t>(r)];
      row.fed.push_back(previous_tokens[static_cast<size_t>(r)]);
      sentences.push_back(row.sentence);
      const int64_t id = ids_[static_cast<size_t>(row.sentence)];
      const auto lp = model_.log_probs(id, row.fed);
      std::copy(lp.begin(), lp.end(), logp.data() + r * model_.vocab);
      const auto w = model_.attention(id, row.fed, source_lengths_[static_cast<size_t>(row.sentence)]);
      std::copy(w.begin(), w.end(), att.data() + r * width_);
    }
    steps.push_back(std::move(sentences));
    fed.emplace_back(previous_tokens.begin(), previous_tokens.end());
    if (tamper) tamper(static_cast<int64_t>(steps.size()) - 1, logp, att);
    if (attention) *attention = att;
    return logp;
  }

  void select_rows(std::span<const int64_t> rows) override {
    bool identity = rows.size() == rows_.size();
    for (size_t i = 0; identity && i < rows.size(); ++i) identity = rows[i] == static_cast<int64_t>(i);
    EXPECT_FALSE(identity) << "select_rows called with the identity";
    std::vector<Row> next;
    for (int64_t r : rows) {
      EXPECT_TRUE(r >= 0 && r < static_cast<int64_t>(rows_.size())) << "row " << r << " of " << rows_.size();
      next.push_back(rows_.at(static_cast<size_t>(r)));
    }
    rows_ = std::move(next);
  }

  // Steps at which the sentence at batch position `sentence` had rows.
  int64_t steps_of(int64_t sentence) const {
    return std::count_if(steps.begin(), steps.end(), [&](const auto& s) {
      return std::find(s.begin(), s.end(), sentence) != s.end();
    });
  }

  std::vector<std::vector<int64_t>> steps;  // per step, the batch position of each row's sentence
  std::vector<Tokens> fed;                   // per step, the tokens fed
  std::function<void(int64_t step, Tensor& logp, Tensor& attention)> tamper;

 private:
  struct Row {
    int64_t sentence;  // batch position
    Tokens fed;
  };
  ToyModel model_;
  std::vector<int64_t> source_lengths_, ids_;
  std::vector<Row> rows_;
  int64_t width_ = 1;
};

// The test's own reading of the length rules.
int64_t limit_of(int64_t source_length, const SearchOptions& o) {
  int64_t limit = o.max_length;
  if (o.max_length_ratio > 0) {
    const auto by_ratio = static_cast<int64_t>(std::ceil(static_cast<double>(o.max_length_ratio) * source_length));
    limit = std::min<int64_t>(limit, by_ratio + o.max_length_extra);
  }
  return std::max<int64_t>(limit, 1);
}

float final_score(float log_prob, int64_t length, float alpha) {
  return log_prob / std::pow(static_cast<float>(length), alpha);
}

Tokens fed_of(const Tokens& tokens, size_t n) {  // bos and the first n tokens
  Tokens fed{kBos};
  fed.insert(fed.end(), tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n));
  return fed;
}

// A hypothesis scored by replaying it through the model, accumulating in the same order as a search.
Hypothesis replayed(const ToyModel& m, int64_t sentence, const Tokens& tokens, bool complete, float alpha) {
  Hypothesis h;
  h.tokens = tokens;
  h.complete = complete;
  float sum = 0;
  for (size_t i = 0; i < tokens.size(); ++i) sum = sum + m.log_probs(sentence, fed_of(tokens, i))[tokens[i]];
  if (complete) sum = sum + m.log_probs(sentence, fed_of(tokens, tokens.size()))[kEos];
  h.log_prob = sum;
  h.score = final_score(sum, static_cast<int64_t>(tokens.size()) + (complete ? 1 : 0), alpha);
  return h;
}

// Whether tokens + [v] ends with an n-gram that occurs earlier in it.
bool repeats_ngram(const Tokens& tokens, int32_t v, int n) {
  Tokens seq = tokens;
  seq.push_back(v);
  const auto last = static_cast<int64_t>(seq.size()) - n;
  for (int64_t k = 0; k < last; ++k) {
    if (std::equal(seq.begin() + k, seq.begin() + k + n, seq.begin() + last)) return true;
  }
  return false;
}

bool has_repeated_ngram(const Tokens& tokens, int n) {
  for (size_t end = 0; end < tokens.size(); ++end) {
    const Tokens before(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(end));
    if (repeats_ngram(before, tokens[end], n)) return true;
  }
  return false;
}

// Plain beam search for one sentence: full candidate lists, stable sorts, every finished hypothesis kept. With
// run_to_limit it ignores options.stopping and only stops at the length limit.
std::vector<Hypothesis> reference_beam(const ToyModel& m, int64_t sentence, int64_t source_length,
                                       const SearchOptions& o, bool run_to_limit) {
  struct Beam {
    Tokens tokens;
    float sum;
  };
  struct Cand {
    float sum;
    size_t beam;
    int32_t token;
  };
  const int64_t limit = limit_of(source_length, o);
  const auto k = static_cast<size_t>(o.beam_size);
  std::vector<Beam> live{{{}, 0.0f}};
  std::vector<Hypothesis> finished;
  auto finish = [&](Tokens tokens, float sum, int64_t length, bool complete) {
    Hypothesis h;
    h.tokens = std::move(tokens);
    h.log_prob = sum;
    h.score = final_score(sum, length, o.length_penalty);
    h.complete = complete;
    finished.push_back(std::move(h));
    std::stable_sort(finished.begin(), finished.end(),
                     [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
  };
  for (int64_t step = 0;; ++step) {
    std::vector<Cand> cands;
    for (size_t i = 0; i < live.size(); ++i) {
      const auto lp = m.log_probs(sentence, fed_of(live[i].tokens, live[i].tokens.size()));
      for (int32_t v = 0; v < static_cast<int32_t>(lp.size()); ++v) {
        if (v == kEos && step < o.min_length) continue;
        if (v != kEos && o.no_repeat_ngram > 0 && repeats_ngram(live[i].tokens, v, o.no_repeat_ngram)) continue;
        cands.push_back({live[i].sum + lp[static_cast<size_t>(v)], i, v});
      }
    }
    std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.sum > b.sum; });
    const bool at_limit = step + 1 == limit;
    std::vector<Beam> next;
    for (const Cand& c : cands) {
      Tokens tokens = live[c.beam].tokens;
      if (c.token == kEos) {
        finish(tokens, c.sum, step + 1, true);
        continue;
      }
      tokens.push_back(c.token);
      if (at_limit) finish(tokens, c.sum, step + 1, false);
      next.push_back({tokens, c.sum});
      if (next.size() == k) break;
    }
    if (next.empty()) {  // nothing may follow: the live beams end here, incomplete, unless one finished
      const bool none_finished = finished.empty();
      for (size_t i = 0; step > 0 && none_finished && i < live.size(); ++i) {
        finish(live[i].tokens, live[i].sum, step, false);
      }
      break;
    }
    if (at_limit) break;
    live = std::move(next);
    if (!run_to_limit && finished.size() >= k) {
      if (o.stopping == Stopping::kEarly) break;
      const float best = live.front().sum;
      const float bound =
          std::max(final_score(best, step + 2, o.length_penalty), final_score(best, limit, o.length_penalty));
      if (bound <= finished[k - 1].score) break;
    }
  }
  finished.resize(std::min(finished.size(), static_cast<size_t>(o.n_best)));
  return finished;
}

// Every sequence the length rules allow, best first.
std::vector<Hypothesis> brute_force(const ToyModel& m, int64_t sentence, int64_t source_length,
                                    const SearchOptions& o) {
  const int64_t limit = limit_of(source_length, o);
  std::vector<Hypothesis> all;
  std::function<void(Tokens&)> grow = [&](Tokens& tokens) {
    const auto n = static_cast<int64_t>(tokens.size());
    if (n == limit) {
      all.push_back(replayed(m, sentence, tokens, false, o.length_penalty));
      return;
    }
    if (n >= o.min_length) all.push_back(replayed(m, sentence, tokens, true, o.length_penalty));
    for (int32_t v = 0; v < m.vocab; ++v) {
      if (v == kEos) continue;
      tokens.push_back(v);
      grow(tokens);
      tokens.pop_back();
    }
  };
  Tokens tokens;
  grow(tokens);
  std::stable_sort(all.begin(), all.end(), [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
  return all;
}

std::string show(const Tokens& t) { return ::testing::PrintToString(t); }

void expect_same(const std::vector<Hypothesis>& got, const std::vector<Hypothesis>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t h = 0; h < got.size(); ++h) {
    EXPECT_EQ(show(got[h].tokens), show(want[h].tokens)) << where << " hypothesis " << h;
    EXPECT_EQ(got[h].complete, want[h].complete) << where << " hypothesis " << h;
    EXPECT_FLOAT_EQ(got[h].log_prob, want[h].log_prob) << where << " hypothesis " << h;
    EXPECT_FLOAT_EQ(got[h].score, want[h].score) << where << " hypothesis " << h;
  }
}

SearchOptions base_options() {
  SearchOptions o;
  o.bos = kBos;
  o.eos = kEos;
  o.max_length = 12;
  return o;
}

std::vector<int64_t> random_sources(int64_t n) {
  std::vector<int64_t> s(static_cast<size_t>(n));
  for (auto& x : s) x = random_int(0, 9);
  return s;
}

ToyModel random_model(int64_t vocab) {
  ToyModel m;
  m.vocab = vocab;
  m.seed = static_cast<uint64_t>(random_int(1, 1 << 30));
  m.spread = std::uniform_real_distribution<double>(0.5, 3.0)(testing::rng());
  m.eos_drift = std::uniform_real_distribution<double>(0.0, 0.8)(testing::rng());
  return m;
}

TEST(SearchGreedy, FollowsTheArgmaxChain) {
  for (int trial = 0; trial < 30; ++trial) {
    const ToyModel m = random_model(std::vector<int64_t>{2, 3, 7, 40, 301}[trial % 5]);
    SearchOptions o = base_options();
    o.min_length = static_cast<int>(random_int(0, 3));
    o.max_length = static_cast<int>(random_int(1, 15));
    o.max_length_ratio = trial % 3 == 0 ? 1.3f : 0.0f;
    o.max_length_extra = static_cast<int>(random_int(0, 3));
    o.length_penalty = trial % 2 ? 1.0f : 0.0f;
    o.beam_size = 4;  // ignored
    const auto sources = random_sources(random_int(1, 6));
    ToyDecoder decoder(m, sources);
    const auto got = greedy_search(decoder, sources, o);
    ASSERT_EQ(got.size(), sources.size());
    for (size_t b = 0; b < sources.size(); ++b) {
      Tokens tokens;
      bool complete = false;
      const int64_t limit = limit_of(sources[b], o);
      while (static_cast<int64_t>(tokens.size()) < limit) {
        auto lp = m.log_probs(static_cast<int64_t>(b), fed_of(tokens, tokens.size()));
        if (static_cast<int64_t>(tokens.size()) < o.min_length) lp[kEos] = -INFINITY;
        const auto best = static_cast<int32_t>(std::max_element(lp.begin(), lp.end()) - lp.begin());
        if (best == kEos) {
          complete = true;
          break;
        }
        tokens.push_back(best);
      }
      expect_same({got[b]}, {replayed(m, static_cast<int64_t>(b), tokens, complete, o.length_penalty)},
                  "trial " + std::to_string(trial) + " sentence " + std::to_string(b));
    }
  }
}

TEST(SearchBeam, MatchesReferenceBeamSearch) {
  const float alphas[] = {0.0f, 0.6f, 1.0f, 2.0f, -0.5f};
  for (int trial = 0; trial < 60; ++trial) {
    const ToyModel m = random_model(std::vector<int64_t>{2, 3, 5, 9, 50, 333}[trial % 6]);
    SearchOptions o = base_options();
    o.beam_size = static_cast<int>(random_int(1, 6));
    o.n_best = static_cast<int>(random_int(1, o.beam_size));
    o.length_penalty = alphas[trial % 5];
    o.min_length = static_cast<int>(random_int(0, 2));
    o.max_length = static_cast<int>(random_int(1, 14));
    o.max_length_ratio = trial % 4 == 1 ? 0.8f : 0.0f;
    o.max_length_extra = static_cast<int>(random_int(0, 4));
    o.stopping = trial % 3 == 2 ? Stopping::kEarly : Stopping::kBound;
    o.no_repeat_ngram = trial % 2 == 0 ? static_cast<int>(random_int(1, 3)) : 0;
    const auto sources = random_sources(random_int(1, 5));
    ToyDecoder decoder(m, sources);
    const auto got = beam_search(decoder, sources, o);
    ASSERT_EQ(got.size(), sources.size());
    for (size_t b = 0; b < sources.size(); ++b) {
      const auto sentence = static_cast<int64_t>(b);
      const std::string where = "trial " + std::to_string(trial) + " sentence " + std::to_string(b) +
                                " no_repeat_ngram " + std::to_string(o.no_repeat_ngram);
      // Stopping::kBound must give what searching on to the limit gives.
      expect_same(got[b], reference_beam(m, sentence, sources[b], o, o.stopping == Stopping::kBound), where);
      for (const auto& h : got[b]) {
        expect_same({h}, {replayed(m, sentence, h.tokens, h.complete, o.length_penalty)}, where + " replayed");
        if (o.no_repeat_ngram > 0) {
          EXPECT_FALSE(has_repeated_ngram(h.tokens, o.no_repeat_ngram)) << where;
        }
      }
    }
  }
}

TEST(SearchBeam, BoundNeverStopsTooEarly) {
  // Stopping::kBound against a search run on to the limit, where a length penalty makes longer hypotheses
  // attractive: stopping at the first moment the best live beam looks worse at its current length would differ.
  int stopped_early = 0;
  for (int trial = 0; trial < 150; ++trial) {
    ToyModel m = random_model(std::vector<int64_t>{3, 4, 6}[trial % 3]);
    m.eos_bias = std::uniform_real_distribution<double>(-1.0, 2.0)(testing::rng());
    m.eos_drift = std::uniform_real_distribution<double>(-0.5, 0.3)(testing::rng());
    SearchOptions o = base_options();
    o.beam_size = static_cast<int>(random_int(1, 3));
    o.n_best = o.beam_size;
    o.length_penalty = std::vector<float>{0.5f, 1.0f, 2.0f, -1.0f}[trial % 4];
    o.max_length = static_cast<int>(random_int(4, 10));
    const std::vector<int64_t> sources{3};
    ToyDecoder decoder(m, sources);
    expect_same(beam_search(decoder, sources, o)[0], reference_beam(m, 0, 3, o, true),
                "trial " + std::to_string(trial));
    stopped_early += static_cast<int64_t>(decoder.steps.size()) < o.max_length;
  }
  EXPECT_GT(stopped_early, 20);
}

TEST(SearchBeam, WideBeamFindsTheExhaustiveBest) {
  for (float alpha : {0.0f, 0.5f, 1.0f, 3.0f, -0.7f}) {
    for (int min_length : {0, 2}) {
      const ToyModel m = random_model(4);
      SearchOptions o = base_options();
      o.max_length = 4;
      o.min_length = min_length;
      o.length_penalty = alpha;
      o.beam_size = 27;  // (vocab - 1)^(max_length - 1): every prefix that can still grow
      o.n_best = 10;
      const std::vector<int64_t> sources{3, 5};
      ToyDecoder decoder(m, sources);
      const auto got = beam_search(decoder, sources, o);
      for (size_t b = 0; b < sources.size(); ++b) {
        auto want = brute_force(m, static_cast<int64_t>(b), sources[b], o);
        want.resize(10);
        expect_same(got[b], want, "alpha " + std::to_string(alpha) + " min_length " + std::to_string(min_length));
      }
    }
  }
}

TEST(SearchBeam, BeamOfOneIsGreedy) {
  for (int trial = 0; trial < 20; ++trial) {
    const ToyModel m = random_model(trial % 2 ? 11 : 3);
    SearchOptions o = base_options();
    o.beam_size = 1;
    // Without a length penalty the bound stops as greedy does; with one, only the early rule does.
    o.length_penalty = trial % 2 ? 0.0f : 1.0f;
    o.stopping = trial % 2 ? Stopping::kBound : Stopping::kEarly;
    o.min_length = trial % 3;
    const auto sources = random_sources(4);
    ToyDecoder d1(m, sources), d2(m, sources);
    const auto beams = beam_search(d1, sources, o);
    const auto greedy = greedy_search(d2, sources, o);
    for (size_t b = 0; b < sources.size(); ++b) expect_same(beams[b], {greedy[b]}, "trial " + std::to_string(trial));
    EXPECT_EQ(d1.steps, d2.steps);
  }
}

TEST(SearchBeam, NBestAreSortedAndDistinct) {
  for (int trial = 0; trial < 10; ++trial) {
    const ToyModel m = random_model(8);
    SearchOptions o = base_options();
    o.beam_size = 6;
    o.n_best = 6;
    o.length_penalty = trial % 2 ? 1.0f : 0.0f;
    const auto sources = random_sources(3);
    ToyDecoder decoder(m, sources);
    for (const auto& hyps : beam_search(decoder, sources, o)) {
      ASSERT_EQ(hyps.size(), 6u);
      for (size_t h = 1; h < hyps.size(); ++h) EXPECT_GE(hyps[h - 1].score, hyps[h].score);
      for (size_t h = 0; h < hyps.size(); ++h) {
        for (size_t g = 0; g < h; ++g) {
          EXPECT_FALSE(hyps[h].tokens == hyps[g].tokens && hyps[h].complete == hyps[g].complete) << show(hyps[h].tokens);
        }
      }
    }
  }
}

TEST(SearchBeam, TiesGoToTheLowerBeamAndToken) {
  // Every token -log 3, eos = 1. Step 0 keeps 0 and 2 and finishes "" (eos comes between them). At a limit of 2
  // tokens, step 1 walks 00 (cut), 0+eos, 02: 00 takes the second place and 0+eos, as likely, cannot displace it.
  ToyModel m;
  m.vocab = 3;
  m.uniform = true;
  SearchOptions o = base_options();
  o.beam_size = 2;
  o.n_best = 2;
  o.length_penalty = 0;
  o.max_length = 2;
  const std::vector<int64_t> sources{1};
  ToyDecoder decoder(m, sources);
  const auto got = beam_search(decoder, sources, o);
  expect_same(got[0], {replayed(m, 0, {}, true, 0), replayed(m, 0, {0, 0}, false, 0)}, "limit 2");
  EXPECT_FLOAT_EQ(got[0][1].log_prob, -2 * std::log(3.0f));
  EXPECT_EQ(decoder.fed, (std::vector<Tokens>{{kBos}, {0, 2}}));
  // With a longer limit 0+eos finishes second; then no live beam can beat it and the search stops.
  o.max_length = 50;
  ToyDecoder longer(m, sources);
  expect_same(beam_search(longer, sources, o)[0], {replayed(m, 0, {}, true, 0), replayed(m, 0, {0}, true, 0)},
              "limit 50");
  EXPECT_EQ(longer.steps.size(), 2u);
  // Of 7 equal candidates the 4 lowest are taken (eos among them), for every sentence of a batch.
  m.vocab = 7;
  o.beam_size = 3;
  o.n_best = 3;
  const std::vector<int64_t> batch{2, 5};
  ToyDecoder wide(m, batch);
  beam_search(wide, batch, o);
  ASSERT_GE(wide.fed.size(), 2u);
  EXPECT_EQ(wide.fed[1], (Tokens{0, 2, 3, 0, 2, 3}));
}

TEST(SearchBeam, LengthLimits) {
  EXPECT_EQ(max_target_length(10, base_options()), 12);
  SearchOptions r = base_options();
  r.max_length_ratio = 1.5f;
  r.max_length_extra = 2;
  r.max_length = 100;
  EXPECT_EQ(max_target_length(10, r), 17);
  EXPECT_EQ(max_target_length(3, r), 7);  // ceil(4.5) + 2
  r.max_length = 12;
  EXPECT_EQ(max_target_length(10, r), 12);
  r.max_length_extra = 0;
  EXPECT_EQ(max_target_length(0, r), 1);

  // eos never likely: every hypothesis is cut at exactly its sentence's limit.
  ToyModel never = random_model(7);
  never.eos_bias = -30;
  SearchOptions o = base_options();
  o.beam_size = 3;
  o.n_best = 3;
  o.max_length_ratio = 1.5f;
  o.max_length_extra = 1;
  const std::vector<int64_t> sources{0, 1, 4, 20};
  ToyDecoder d1(never, sources);
  const auto cut = beam_search(d1, sources, o);
  for (size_t b = 0; b < sources.size(); ++b) {
    ASSERT_EQ(cut[b].size(), 3u);
    for (const auto& h : cut[b]) {
      EXPECT_FALSE(h.complete);
      EXPECT_EQ(static_cast<int64_t>(h.tokens.size()), limit_of(sources[b], o)) << "source " << sources[b];
    }
    EXPECT_EQ(d1.steps_of(static_cast<int64_t>(b)), limit_of(sources[b], o));
  }

  // eos always likely: min_length holds it back exactly that long.
  ToyModel eager = random_model(7);
  eager.eos_drift = 0;
  eager.seed = 99;
  o = base_options();
  o.beam_size = 2;
  o.length_penalty = 0;
  for (int min_length : {0, 1, 3, 20}) {
    o.min_length = min_length;
    const ToyModel m = eager;
    const std::vector<int64_t> one{5};
    ToyDecoder d2(m, one);
    const auto hyps = beam_search(d2, one, o);
    for (const auto& h : hyps[0]) {
      EXPECT_GE(static_cast<int64_t>(h.tokens.size()), std::min(min_length, o.max_length));
      if (min_length > o.max_length) {
        EXPECT_FALSE(h.complete);
      }
    }
    expect_same(hyps[0], reference_beam(m, 0, 5, o, true), "min_length " + std::to_string(min_length));
  }
}

TEST(SearchBeam, StopsOnceNothingCanBeatTheFinished) {
  // Peaked distributions with eos soon likely: the bound stops long before the limit without a length penalty,
  // and kEarly never searches longer than kBound.
  ToyModel m = random_model(20);
  m.spread = 4;
  m.eos_drift = 2;
  SearchOptions o = base_options();
  o.max_length = 200;
  o.beam_size = 4;
  for (float alpha : {0.0f, 1.0f}) {
    o.length_penalty = alpha;
    const std::vector<int64_t> sources{6};
    o.stopping = Stopping::kBound;
    ToyDecoder bound(m, sources);
    beam_search(bound, sources, o);
    o.stopping = Stopping::kEarly;
    ToyDecoder early(m, sources);
    beam_search(early, sources, o);
    EXPECT_LE(early.steps.size(), bound.steps.size());
    if (alpha == 0) {
      EXPECT_LT(bound.steps.size(), 30u);
    }
  }
}

TEST(SearchBeam, BatchGivesWhatEachSentenceGivesAlone) {
  for (int trial = 0; trial < 10; ++trial) {
    const ToyModel m = random_model(trial % 2 ? 13 : 4);
    SearchOptions o = base_options();
    o.beam_size = static_cast<int>(random_int(1, 5));
    o.n_best = o.beam_size;
    o.length_penalty = trial % 3 ? 1.0f : 0.0f;
    o.max_length_ratio = 1.2f;
    o.max_length_extra = 2;
    const auto sources = random_sources(random_int(2, 7));
    ToyDecoder batch(m, sources);
    const auto together = beam_search(batch, sources, o);
    // The decoder's rows: one per sentence at first, then each sentence's beams side by side in batch order, no
    // more than beam_size of them, and a sentence's rows gone once it is done (so it steps as often as alone).
    std::vector<int64_t> first(sources.size());
    std::iota(first.begin(), first.end(), 0);
    EXPECT_EQ(batch.steps.front(), first);
    for (const auto& rows : batch.steps) {
      EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
      for (size_t b = 0; b < sources.size(); ++b) EXPECT_LE(std::count(rows.begin(), rows.end(), static_cast<int64_t>(b)), o.beam_size);
    }
    for (size_t b = 0; b < sources.size(); ++b) {
      const auto id = static_cast<int64_t>(b);
      const std::vector<int64_t> one{sources[b]};
      ToyDecoder alone(m, one, {id});
      expect_same(beam_search(alone, one, o)[0], together[b], "trial " + std::to_string(trial));
      EXPECT_EQ(static_cast<int64_t>(alone.steps.size()), batch.steps_of(id));
    }
  }
}

TEST(SearchBeam, AttentionFollowsTheHypotheses) {
  for (int trial = 0; trial < 8; ++trial) {
    const ToyModel m = random_model(6);
    SearchOptions o = base_options();
    o.beam_size = 4;
    o.n_best = 4;
    o.keep_attention = true;
    o.max_length = trial % 2 ? 3 : 12;  // some hypotheses cut at the limit
    auto sources = random_sources(4);
    sources[0] = 0;  // an empty source gives [rows, 0]
    ToyDecoder decoder(m, sources);
    const auto got = beam_search(decoder, sources, o);
    for (size_t b = 0; b < sources.size(); ++b) {
      for (const auto& h : got[b]) {
        const size_t n = h.tokens.size() + (h.complete ? 1 : 0);
        ASSERT_EQ(h.attention.shape(), Shape({static_cast<int64_t>(n), sources[b]}));
        for (size_t i = 0; i < n; ++i) {
          const auto want = m.attention(static_cast<int64_t>(b), fed_of(h.tokens, i), sources[b]);
          const std::vector<float> row(h.attention.data() + i * sources[b], h.attention.data() + (i + 1) * sources[b]);
          EXPECT_EQ(row, want) << "sentence " << b << " " << show(h.tokens) << " row " << i;
        }
      }
    }
    // Without keep_attention nothing is asked for or kept.
    o.keep_attention = false;
    ToyDecoder plain(m, sources);
    plain.tamper = [](int64_t, Tensor&, Tensor& attention) { attention = Tensor(); };
    for (const auto& hyps : beam_search(plain, sources, o)) {
      for (const auto& h : hyps) EXPECT_FALSE(h.attention.defined());
    }
  }
}

TEST(SearchBeam, LargeVocabularyMatchesReferenceOnAnyThreadCount) {
  const ToyModel m = random_model(5003);  // not a multiple of the scan's block
  SearchOptions o = base_options();
  o.beam_size = 5;
  o.n_best = 3;
  o.max_length = 8;
  const std::vector<int64_t> sources{4, 9, 2, 7};
  const int threads = num_threads();
  std::vector<std::vector<Hypothesis>> runs[2];
  for (int t : {1, 2}) {
    set_num_threads(t);
    ToyDecoder decoder(m, sources);
    runs[t - 1] = beam_search(decoder, sources, o);
  }
  set_num_threads(threads);
  for (size_t b = 0; b < sources.size(); ++b) {
    expect_same(runs[1][b], runs[0][b], "threads");
    if (b < 2) expect_same(runs[0][b], reference_beam(m, static_cast<int64_t>(b), sources[b], o, true), "reference");
  }
}

TEST(SearchBeam, EmptyBatchAsksNothing) {
  ToyDecoder decoder(ToyModel{}, {});
  EXPECT_TRUE(beam_search(decoder, {}, base_options()).empty());
  EXPECT_TRUE(greedy_search(decoder, {}, base_options()).empty());
  EXPECT_TRUE(decoder.steps.empty());
}

TEST(SearchBeam, RejectsBadOptionsAndDecoderOutput) {
  const ToyModel m = random_model(5);
  const std::vector<int64_t> sources{3, 4};
  auto run = [&](const SearchOptions& o, std::function<void(int64_t, Tensor&, Tensor&)> tamper = nullptr) {
    ToyDecoder decoder(m, sources);
    decoder.tamper = std::move(tamper);
    beam_search(decoder, sources, o);
  };
  auto with = [](auto edit) {
    SearchOptions o = base_options();
    o.beam_size = 3;
    edit(o);
    return o;
  };
  expect_error([&] { run(with([](SearchOptions& o) { o.beam_size = 0; })); }, {"beam_size", "0"});
  expect_error([&] { run(with([](SearchOptions& o) { o.n_best = 4; })); }, {"n_best", "4"});
  expect_error([&] { run(with([](SearchOptions& o) { o.n_best = 0; })); }, {"n_best"});
  expect_error([&] { run(with([](SearchOptions& o) { o.eos = 5; })); }, {"eos (5)", "vocabulary of 5"});
  expect_error([&] { run(with([](SearchOptions& o) { o.bos = -1; })); }, {"bos (-1)"});
  expect_error([&] { run(with([](SearchOptions& o) { o.max_length = 0; })); }, {"max_length", "0"});
  expect_error([&] { run(with([](SearchOptions& o) { o.min_length = -2; })); }, {"min_length", "-2"});
  expect_error([&] { run(with([](SearchOptions& o) { o.max_length_extra = -1; })); }, {"max_length_extra"});
  expect_error([&] { run(with([](SearchOptions& o) { o.max_length_ratio = -1; })); }, {"max_length_ratio"});
  expect_error([&] { run(with([](SearchOptions& o) { o.length_penalty = NAN; })); }, {"length_penalty"});
  expect_error(
      [&] {
        ToyDecoder d(m, {2});
        const std::vector<int64_t> bad{-2};
        beam_search(d, bad, base_options());
      },
      {"source_lengths[0]", "-2"});

  const SearchOptions o = with([](SearchOptions&) {});
  auto set_at = [](int64_t when, int64_t row, int64_t token, float value) {
    return [=](int64_t step, Tensor& logp, Tensor&) {
      if (step == when) logp.at({row, token}) = value;
    };
  };
  expect_error([&] { run(o, set_at(0, 1, 2, NAN)); }, {"step 0", "row 1, token 2", "finite"});
  expect_error([&] { run(o, set_at(2, 3, 4, INFINITY)); }, {"step 2", "row 3, token 4", "inf"});
  expect_error([&] { run(o, set_at(1, 0, 0, -INFINITY)); }, {"step 1", "row 0, token 0", "-inf"});
  expect_error([&] { run(o, set_at(1, 2, 3, 0.5f)); }, {"step 1", "row 2, token 3", "0.5", "<= 0"});
  expect_error([&] { run(o, [](int64_t step, Tensor& logp, Tensor&) { if (step == 1) logp = Tensor::zeros({2, 5}); }); },
               {"step 1", "[2, 5]", "expected [6, 5]"});
  expect_error([&] { run(o, [](int64_t, Tensor& logp, Tensor&) { logp = Tensor::zeros({2, 1}); }); },
               {"step 0", "[2, 1]", "vocab >= 2"});
  expect_error([&] { run(o, [](int64_t, Tensor& logp, Tensor&) { logp = Tensor(); }); }, {"step 0", "undefined"});
  expect_error([&] { run(o, [](int64_t step, Tensor& logp, Tensor&) { if (step == 1) logp = Tensor::zeros({6, 7}); }); },
               {"step 1", "[6, 7]", "expected [6, 5]"});
  {  // every value bad after beam_size hypotheses have finished
    ToyModel uniform;
    uniform.vocab = 5;
    uniform.uniform = true;
    ToyDecoder decoder(uniform, sources);
    decoder.tamper = [](int64_t step, Tensor& logp, Tensor&) {
      if (step == 3) logp.fill(NAN);
    };
    expect_error([&] { beam_search(decoder, sources, o); }, {"step 3", "row 0, token 0", "nan"});
  }
  SearchOptions keep = o;
  keep.keep_attention = true;
  expect_error([&] { run(keep, [](int64_t, Tensor&, Tensor& a) { a = Tensor(); }); }, {"attention", "undefined"});
  expect_error([&] { run(keep, [](int64_t, Tensor&, Tensor& a) { a = Tensor::zeros({2, 3}); }); },
               {"step 0", "attention [2, 3]", "[2, >= 4]"});
}

}  // namespace
}  // namespace attn::tasks::seq2seq
