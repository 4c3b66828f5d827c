// BLEU (Papineni et al., 2002) exactly as sacreBLEU 2.x computes it (Post, 2018): detokenised text in,
// mteval-v13a tokenisation, clipped n-gram counts summed over the corpus, brevity penalty from the closest
// reference length, sacreBLEU's smoothing methods. The defaults give the score sacreBLEU prints by default.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn::metrics {

enum class BleuTokenize { k13a, kNone };  // kNone: split on whitespace only (sacreBLEU's tokenize='none')

// sacreBLEU's smooth_method: 'none', 'floor' (zero counts become smooth_value), 'add-k' (add smooth_value to
// the counts and totals of orders above 1), 'exp' (mteval-v13a: the k-th order with no match gets precision
// 1 / (2^k * its n-gram total)). With no match at all the score is 0 whatever the smoothing.
enum class BleuSmooth { kNone, kFloor, kAddK, kExp };

struct BleuOptions {
  BleuTokenize tokenize = BleuTokenize::k13a;
  BleuSmooth smooth = BleuSmooth::kExp;
  std::optional<double> smooth_value = std::nullopt;  // unset: sacreBLEU's default (floor 0.1, add-k 1)
  int max_order = 4;
  // Average only over the orders the hypotheses have n-grams of (sacreBLEU's effective_order), so that a
  // sentence shorter than max_order words can score above 0. Right for sentence BLEU, off for corpus BLEU.
  bool effective_order = false;
};

struct BleuScore {
  double score = 0;                     // 0..100
  std::vector<double> precisions;       // per order, in percent, after smoothing
  std::vector<int64_t> counts, totals;  // clipped matches and hypothesis n-grams per order (before add-k)
  double bp = 0;                        // brevity penalty
  double ratio = 0;                     // hyp_len / ref_len (0 when ref_len is 0)
  int64_t hyp_len = 0, ref_len = 0;     // tokens; ref_len sums each hypothesis's closest reference length
  // sacreBLEU's signature without its version, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp" ("nrefs:var" when
  // hypotheses have different numbers of references); empty from bleu_from_statistics.
  std::string signature;

  // sacreBLEU's score line: "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
  std::string format() const;
};

// reference_sets[k][i] is the k-th reference of hypotheses[i] (sacreBLEU's layout: one stream per reference
// set); every set has one entry per hypothesis. An empty reference counts as missing, so hypotheses may have
// different numbers of references, but each needs at least one. Text must be valid UTF-8.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_sets, const BleuOptions& options = {});

// sacreBLEU's sentence_bleu: one hypothesis, its references, effective order on by default.
BleuScore sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references,
                        const BleuOptions& options = {.effective_order = true});

// The score from sufficient statistics (sacreBLEU's BLEU.compute_bleu), for statistics gathered elsewhere.
BleuScore bleu_from_statistics(const std::vector<int64_t>& counts, const std::vector<int64_t>& totals, int64_t hyp_len,
                               int64_t ref_len, const BleuOptions& options = {});

// sacreBLEU's '13a' tokenizer (mteval-v13a.pl): drops "<skipped>", joins "-\n" line breaks, unescapes
// &quot; &amp; &lt; &gt;, splits off punctuation and symbols, periods and commas unless between digits, and
// dashes after digits. Returns the tokens joined by single spaces.
std::string tokenize_13a(std::string_view line);

}  // namespace attn::metrics
