// chrF (Popović, 2015) and chrF++ (Popović, 2017) exactly as sacreBLEU 2.x computes them: character n-gram
// F-beta over code points with whitespace removed, plus word n-grams for chrF++, match statistics summed over
// the corpus. The defaults are sacreBLEU's CHRF() (chrF2: 6 character orders, beta 2).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn::metrics {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;       // 2 gives chrF++
  int beta = 2;             // recall weighs beta times as much as precision
  bool whitespace = false;  // keep whitespace inside character n-grams
  // false (sacreBLEU's default): average precision and recall over the orders that both sides have n-grams
  // of, then take F-beta. true: chrF++.py's epsilon smoothing, the mean of per-order F-beta scores.
  bool eps_smoothing = false;
};

struct ChrfScore {
  double score = 0;  // 0..100
  // Summed over the corpus, per order (character orders first, then word orders): hypothesis n-grams (0 for a
  // segment whose reference has none of that order), reference n-grams, matches.
  std::vector<int64_t> hyp_ngrams, ref_ngrams, matches;
  std::string name;       // "chrF2", "chrF2++"
  std::string signature;  // "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no"

  std::string format() const;  // sacreBLEU's score line, "chrF2 = 59.73"
};

// reference_sets[k][i] is the k-th reference of hypotheses[i], as for corpus_bleu; empty references count as
// missing. With several references each segment keeps the statistics of the one with the best chrF.
ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_sets, const ChrfOptions& options = {});

ChrfScore sentence_chrf(const std::string& hypothesis, const std::vector<std::string>& references,
                        const ChrfOptions& options = {});

}  // namespace attn::metrics
