#include "attn/metrics/chrf.h"

#include <fmt/format.h>

#include <span>
#include <string_view>

#include "attn/core/error.h"
#include "attn/text/utf8.h"
#include "ngram_matcher.h"
#include "text_metric_util.h"

namespace attn::metrics {
namespace {

// Python's string.punctuation, which chrF++ splits off the ends of words.
constexpr std::string_view kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

bool is_punctuation(char c) { return kPunctuation.find(c) != std::string_view::npos; }

// One side of a segment as unit ids: its code points (without whitespace unless it is kept) and, for
// chrF++, its words.
struct Units {
  std::vector<uint32_t> chars, words;
};

// sacreBLEU's extract_all_char_ngrams and, for chrF++, _remove_punctuation + extract_word_ngrams.
void to_units(std::string_view text, const ChrfOptions& o, detail::WordIds* words, Units* out) {
  out->chars.clear();
  for (size_t i = 0; i < text.size();) {
    const char32_t cp = text::next_code_point(text, &i);
    if (o.whitespace || !detail::is_python_space(cp)) out->chars.push_back(static_cast<uint32_t>(cp));
  }
  out->words.clear();
  if (o.word_order == 0) return;
  // Words are split on whitespace; a word of two or more characters loses one punctuation mark from its end,
  // or else from its start, as a token of its own ("(hi)" gives "(hi" and ")").
  for (std::string_view w : detail::split_python(text)) {
    size_t first_end = 0;
    text::next_code_point(w, &first_end);
    if (first_end < w.size() && is_punctuation(w.back())) {
      out->words.push_back(words->id(w.substr(0, w.size() - 1)));
      out->words.push_back(words->id(w.substr(w.size() - 1)));
    } else if (first_end < w.size() && is_punctuation(w.front())) {
      out->words.push_back(words->id(w.substr(0, 1)));
      out->words.push_back(words->id(w.substr(1)));
    } else {
      out->words.push_back(words->id(w));
    }
  }
}

// sacreBLEU's _get_match_statistics for every order, characters then words: [hypothesis n-grams (0 when the
// reference has none of that order), reference n-grams, matches].
void match_statistics(const Units& hyp, const Units& ref, const ChrfOptions& o, detail::NgramMatcher* matcher,
                      std::vector<int64_t>* stats) {
  stats->clear();
  std::vector<detail::OrderCounts> counts;
  auto append = [&] {
    for (const auto& c : counts) stats->insert(stats->end(), {c.ref > 0 ? c.hyp : 0, c.ref, c.matches});
  };
  matcher->match(hyp.chars, std::span(&ref.chars, 1), o.char_order, &counts);
  append();
  if (o.word_order == 0) return;
  matcher->match(hyp.words, std::span(&ref.words, 1), o.word_order, &counts);
  append();
}

// sacreBLEU's CHRF._compute_f_score, operation for operation.
double f_score(const std::vector<int64_t>& stats, const ChrfOptions& o) {
  constexpr double kEps = 1e-16;
  const double factor = static_cast<double>(o.beta) * static_cast<double>(o.beta);
  const size_t orders = stats.size() / 3;
  double score = 0, avg_precision = 0, avg_recall = 0;
  int effective_order = 0;
  for (size_t i = 0; i < orders; ++i) {
    const int64_t n_hyp = stats[3 * i], n_ref = stats[3 * i + 1], n_match = stats[3 * i + 2];
    const double precision = n_hyp > 0 ? static_cast<double>(n_match) / static_cast<double>(n_hyp) : kEps;
    const double recall = n_ref > 0 ? static_cast<double>(n_match) / static_cast<double>(n_ref) : kEps;
    const double denom = factor * precision + recall;
    score += denom > 0 ? (1 + factor) * precision * recall / denom : kEps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_precision += precision;
      avg_recall += recall;
      ++effective_order;
    }
  }
  if (o.eps_smoothing) return 100 * score / static_cast<double>(orders);
  if (effective_order > 0) {
    avg_precision /= effective_order;
    avg_recall /= effective_order;
  }
  if (avg_precision + avg_recall == 0) return 0.0;
  score = (1 + factor) * avg_precision * avg_recall;
  score /= factor * avg_precision + avg_recall;
  return 100 * score;
}

}  // namespace

ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_sets, const ChrfOptions& o) {
  ATTN_CHECK(o.char_order >= 0 && o.word_order >= 0 && o.char_order + o.word_order > 0 && o.beta > 0,
             "chrF: needs char_order, word_order >= 0 with a positive sum and beta > 0 (got {}, {}, {})", o.char_order,
             o.word_order, o.beta);
  detail::check_corpus("chrF", hypotheses, reference_sets);
  const auto orders = static_cast<size_t>(o.char_order + o.word_order);
  detail::WordIds words;
  detail::NgramMatcher matcher;
  Units hyp, ref;
  std::vector<int64_t> sums(3 * orders, 0), stats, best;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    to_units(hypotheses[i], o, &words, &hyp);
    double best_f = -1;
    for (std::string_view reference : detail::nonempty_references("chrF", i, reference_sets)) {
      to_units(reference, o, &words, &ref);
      match_statistics(hyp, ref, o, &matcher, &stats);
      const double f = f_score(stats, o);
      if (f > best_f) {
        best_f = f;
        best.swap(stats);
      }
    }
    for (size_t k = 0; k < sums.size(); ++k) sums[k] += best[k];
  }
  ChrfScore r;
  r.score = f_score(sums, o);
  for (size_t j = 0; j < orders; ++j) {
    r.hyp_ngrams.push_back(sums[3 * j]);
    r.ref_ngrams.push_back(sums[3 * j + 1]);
    r.matches.push_back(sums[3 * j + 2]);
  }
  r.name = fmt::format("chrF{}{}", o.beta, std::string(static_cast<size_t>(o.word_order), '+'));
  r.signature = fmt::format("nrefs:{}|case:mixed|eff:{}|nc:{}|nw:{}|space:{}", detail::nrefs_field(reference_sets),
                            o.eps_smoothing ? "no" : "yes", o.char_order, o.word_order, o.whitespace ? "yes" : "no");
  return r;
}

ChrfScore sentence_chrf(const std::string& hypothesis, const std::vector<std::string>& references,
                        const ChrfOptions& options) {
  std::vector<std::vector<std::string>> sets;
  for (const auto& ref : references) sets.push_back({ref});
  return corpus_chrf({hypothesis}, sets, options);
}

std::string ChrfScore::format() const { return fmt::format("{} = {:.2f}", name, score); }

}  // namespace attn::metrics
