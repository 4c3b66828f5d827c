// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum (Lin, 2004) exactly as Google's rouge-score package
// (rouge_scorer.RougeScorer) computes them, the figures summarisation papers report: its tokenizer (lowercase,
// runs of [a-z0-9]), optionally NLTK's Porter stemmer, scores as fractions 0..1.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace attn::metrics {

struct RougeOptions {
  // Stem tokens longer than 3 characters with NLTK's PorterStemmer (its default NLTK_EXTENSIONS mode), as
  // RougeScorer(use_stemmer=True) does; ROUGE-1.5.5's -m.
  bool use_stemmer = false;
};

struct RougeValue {
  double precision = 0, recall = 0, f1 = 0;
};

struct RougeScore {
  RougeValue rouge1, rouge2;
  RougeValue rougeL;     // longest common subsequence over the whole text
  RougeValue rougeLsum;  // summary-level LCS, sentences split at newlines
};

// Scores against each reference and keeps, per ROUGE type, the one with the highest F1 (the first on ties),
// as RougeScorer.score_multi does. An empty reference or hypothesis scores 0.
RougeScore sentence_rouge(const std::string& hypothesis, const std::vector<std::string>& references,
                          const RougeOptions& options = {});

struct RougeCorpus {
  RougeScore mean;  // the mean of the per-pair figures (what rouge-score's BootstrapAggregator estimates as mid)
  std::vector<RougeScore> per_pair;
};

// reference_sets[k][i] is the k-th reference of hypotheses[i], as for corpus_bleu. Text must be valid UTF-8.
RougeCorpus corpus_rouge(const std::vector<std::string>& hypotheses,
                         const std::vector<std::vector<std::string>>& reference_sets, const RougeOptions& options = {});

// rouge-score's tokenizer: Python's lower(), every run of characters other than [a-z0-9] a separator, tokens
// longer than 3 characters stemmed when use_stemmer is set.
std::vector<std::string> rouge_tokenize(std::string_view text, bool use_stemmer = false);

}  // namespace attn::metrics
