#include "attn/metrics/rouge.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "attn/core/error.h"
#include "attn/text/utf8.h"
#include "ngram_matcher.h"
#include "porter_stemmer.h"
#include "text_metric_util.h"

namespace attn::metrics {
namespace {

// Calls emit(token) for each token of rouge-score's tokenizer before stemming: Python's lower() followed by
// re.sub("[^a-z0-9]+", " "). Only two characters outside ASCII lowercase to ASCII letters: U+0130 (to "i" and
// a combining dot, which separates) and the Kelvin sign U+212A (to "k").
template <class Emit>
void for_each_raw_token(std::string_view valid, Emit&& emit) {
  std::string token;
  auto flush = [&] {
    if (!token.empty()) emit(token);
    token.clear();
  };
  for (size_t i = 0; i < valid.size();) {
    const char32_t cp = text::next_code_point(valid, &i);
    if (cp >= 'A' && cp <= 'Z') {
      token += static_cast<char>(cp - 'A' + 'a');
    } else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
      token += static_cast<char>(cp);
    } else if (cp == 0x130) {
      token += 'i';
      flush();
    } else if (cp == 0x212A) {
      token += 'k';
    } else {
      flush();
    }
  }
  flush();
}

// Maps tokens to ids, equal for tokens with equal stems; stems each distinct token once.
class TokenIds {
 public:
  explicit TokenIds(bool use_stemmer) : use_stemmer_(use_stemmer) {}

  // Ids of the tokens of each line (rouge-score's "\n" sentence split for ROUGE-Lsum, empty lines dropped);
  // lines->front() ... back() concatenated are the tokens of the whole text.
  void encode_lines(std::string_view text, std::vector<std::vector<int32_t>>* lines) {
    lines->clear();
    size_t begin = 0;
    while (begin <= text.size()) {
      size_t end = text.find('\n', begin);
      if (end == std::string_view::npos) end = text.size();
      if (end > begin) {
        lines->emplace_back();
        for_each_raw_token(text.substr(begin, end - begin),
                           [&](std::string_view t) { lines->back().push_back(id(t)); });
      }
      begin = end + 1;
    }
  }

 private:
  int32_t id(std::string_view token) {
    const uint32_t raw = raw_.id(token);
    if (raw == stem_of_.size()) {
      const bool stem = use_stemmer_ && token.size() > 3;
      stem_of_.push_back(static_cast<int32_t>(stem ? stems_.id(detail::porter_stem(token)) : stems_.id(token)));
    }
    return stem_of_[raw];
  }

  bool use_stemmer_;
  detail::WordIds raw_, stems_;
  std::vector<int32_t> stem_of_;  // the stems_ id of each raw_ id
};

using Ids = std::vector<int32_t>;

// scoring.fmeasure
RougeValue value(double precision, double recall) {
  return {precision, recall, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0};
}

std::vector<uint64_t> sorted_ngrams(const Ids& t, size_t n) {
  std::vector<uint64_t> keys;
  for (size_t i = 0; i + n <= t.size(); ++i) {
    keys.push_back(n == 1 ? static_cast<uint32_t>(t[i])
                          : (uint64_t{static_cast<uint32_t>(t[i])} << 32) | static_cast<uint32_t>(t[i + 1]));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// _score_ngrams for n = 1 or 2: clipped matches over the prediction's and the target's n-gram counts.
RougeValue rouge_n(const Ids& target, const Ids& prediction, size_t n) {
  const auto a = sorted_ngrams(target, n), b = sorted_ngrams(prediction, n);
  int64_t overlap = 0;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++overlap, ++i, ++j;
    }
  }
  const auto o = static_cast<double>(overlap);
  return value(o / static_cast<double>(std::max<size_t>(b.size(), 1)),
               o / static_cast<double>(std::max<size_t>(a.size(), 1)));
}

// _lcs_table: table[i * (cols + 1) + j] is the LCS length of ref[:i] and can[:j].
std::vector<int32_t> lcs_table(const Ids& ref, const Ids& can) {
  const size_t cols = can.size() + 1;
  std::vector<int32_t> t((ref.size() + 1) * cols, 0);
  for (size_t i = 1; i <= ref.size(); ++i) {
    for (size_t j = 1; j <= can.size(); ++j) {
      t[i * cols + j] = ref[i - 1] == can[j - 1] ? t[(i - 1) * cols + j - 1] + 1
                                                 : std::max(t[(i - 1) * cols + j], t[i * cols + j - 1]);
    }
  }
  return t;
}

// _score_lcs, with one row of the table at a time.
RougeValue rouge_l(const Ids& target, const Ids& prediction) {
  if (target.empty() || prediction.empty()) return {};
  std::vector<int32_t> prev(prediction.size() + 1, 0), row(prediction.size() + 1, 0);
  for (int32_t token : target) {
    for (size_t j = 1; j <= prediction.size(); ++j) {
      row[j] = token == prediction[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], row[j - 1]);
    }
    prev.swap(row);
  }
  const auto lcs = static_cast<double>(prev.back());
  return value(lcs / static_cast<double>(prediction.size()), lcs / static_cast<double>(target.size()));
}

// _summary_level_lcs: for each reference sentence, the union of its LCS positions with every candidate sentence
// (read back as _backtrack_norec does), each token counted at most as often as it occurs on both sides.
RougeValue rouge_lsum(const std::vector<Ids>& ref_sents, const std::vector<Ids>& can_sents) {
  if (ref_sents.empty() || can_sents.empty()) return {};
  size_t m = 0, n = 0;
  std::unordered_map<int32_t, int64_t> ref_left, can_left;
  for (const Ids& s : ref_sents) {
    m += s.size();
    for (int32_t t : s) ++ref_left[t];
  }
  for (const Ids& s : can_sents) {
    n += s.size();
    for (int32_t t : s) ++can_left[t];
  }
  if (m == 0 || n == 0) return {};
  int64_t hits = 0;
  std::vector<char> in_union;
  for (const Ids& ref : ref_sents) {
    in_union.assign(ref.size(), 0);
    for (const Ids& can : can_sents) {
      const auto t = lcs_table(ref, can);
      const size_t cols = can.size() + 1;
      for (size_t i = ref.size(), j = can.size(); i > 0 && j > 0;) {
        if (ref[i - 1] == can[j - 1]) {
          in_union[i - 1] = 1;
          --i, --j;
        } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
          --j;
        } else {
          --i;
        }
      }
    }
    for (size_t i = 0; i < ref.size(); ++i) {
      if (!in_union[i]) continue;
      int64_t& c = can_left[ref[i]];
      int64_t& r = ref_left[ref[i]];
      if (c > 0 && r > 0) {
        ++hits;
        --c, --r;
      }
    }
  }
  const auto h = static_cast<double>(hits);
  return value(h / static_cast<double>(n), h / static_cast<double>(m));
}

void flatten(const std::vector<Ids>& lines, Ids* out) {
  out->clear();
  for (const Ids& line : lines) out->insert(out->end(), line.begin(), line.end());
}

// RougeScorer.score_multi: per type, the reference with the highest F1, the first on ties.
RougeScore score_pair(TokenIds* ids, std::string_view hypothesis, const std::vector<std::string_view>& references) {
  std::vector<Ids> hyp_lines, ref_lines;
  Ids hyp, ref;
  ids->encode_lines(hypothesis, &hyp_lines);
  flatten(hyp_lines, &hyp);
  RougeScore best;
  auto keep = [](RougeValue* kept, const RougeValue& v, bool first) {
    if (first || v.f1 > kept->f1) *kept = v;
  };
  for (size_t k = 0; k < references.size(); ++k) {
    ids->encode_lines(references[k], &ref_lines);
    flatten(ref_lines, &ref);
    keep(&best.rouge1, rouge_n(ref, hyp, 1), k == 0);
    keep(&best.rouge2, rouge_n(ref, hyp, 2), k == 0);
    keep(&best.rougeL, rouge_l(ref, hyp), k == 0);
    keep(&best.rougeLsum, rouge_lsum(ref_lines, hyp_lines), k == 0);
  }
  return best;
}

void add(RougeValue* sum, const RougeValue& v) {
  sum->precision += v.precision;
  sum->recall += v.recall;
  sum->f1 += v.f1;
}

void divide(RougeValue* v, double n) {
  v->precision /= n;
  v->recall /= n;
  v->f1 /= n;
}

}  // namespace

std::vector<std::string> rouge_tokenize(std::string_view text, bool use_stemmer) {
  const auto bad = text::find_invalid_utf8(text);
  ATTN_CHECK(!bad, "ROUGE: text is not valid UTF-8 (byte {})", bad.value_or(0));
  std::vector<std::string> tokens;
  for_each_raw_token(text, [&](std::string_view t) {
    tokens.push_back(use_stemmer && t.size() > 3 ? detail::porter_stem(t) : std::string(t));
  });
  return tokens;
}

RougeCorpus corpus_rouge(const std::vector<std::string>& hypotheses,
                         const std::vector<std::vector<std::string>>& reference_sets, const RougeOptions& options) {
  detail::check_corpus("ROUGE", hypotheses, reference_sets);
  TokenIds ids(options.use_stemmer);
  RougeCorpus r;
  std::vector<std::string_view> refs;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    refs.clear();
    for (const auto& set : reference_sets) refs.push_back(set[i]);
    r.per_pair.push_back(score_pair(&ids, hypotheses[i], refs));
    add(&r.mean.rouge1, r.per_pair.back().rouge1);
    add(&r.mean.rouge2, r.per_pair.back().rouge2);
    add(&r.mean.rougeL, r.per_pair.back().rougeL);
    add(&r.mean.rougeLsum, r.per_pair.back().rougeLsum);
  }
  if (!hypotheses.empty()) {
    const auto n = static_cast<double>(hypotheses.size());
    for (RougeValue* v : {&r.mean.rouge1, &r.mean.rouge2, &r.mean.rougeL, &r.mean.rougeLsum}) divide(v, n);
  }
  return r;
}

RougeScore sentence_rouge(const std::string& hypothesis, const std::vector<std::string>& references,
                          const RougeOptions& options) {
  std::vector<std::vector<std::string>> sets;
  for (const auto& ref : references) sets.push_back({ref});
  return corpus_rouge({hypothesis}, sets, options).per_pair.at(0);
}

}  // namespace attn::metrics
