#include "attn/metrics/bleu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "ngram_matcher.h"
#include "text_metric_util.h"

namespace attn::metrics {
namespace {

// Python's str.replace: every non-overlapping occurrence, left to right, in a single pass.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  for (size_t at; (at = s.find(from, i)) != std::string_view::npos; i = at + from.size()) {
    out.append(s.substr(i, at - i));
    out.append(to);
  }
  out.append(s.substr(i));
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_period_or_comma(char c) { return c == '.' || c == ','; }

// The class [\{-\~\[-\` -\&\(-\+\:-\@\/] of mteval's first rule: space and ASCII punctuation except ' , - .
bool is_13a_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

std::string join_tokens(std::string_view valid) {
  std::string out;
  for (std::string_view token : detail::split_python(valid)) {
    if (!out.empty()) out += ' ';
    out.append(token);
  }
  return out;
}

// sacreBLEU's BLEU._preprocess_segment: the line without trailing whitespace, tokenised, tokens joined by one
// space. Every byte class in the 13a rules is ASCII, so working on UTF-8 bytes matches Python's code points.
std::string preprocess(std::string_view line, BleuTokenize tokenize) {
  line = detail::rstrip_python(line);
  return tokenize == BleuTokenize::k13a ? tokenize_13a(line) : join_tokens(line);
}

// The ids of the tokens of a single-space-joined line.
void to_units(std::string_view line, detail::WordIds* words, std::vector<uint32_t>* units) {
  units->clear();
  for (size_t begin = 0; begin < line.size();) {
    const size_t end = std::min(line.find(' ', begin), line.size());
    units->push_back(words->id(line.substr(begin, end - begin)));
    begin = end + 1;
  }
}

// sacreBLEU's _get_closest_ref_len: the reference length nearest the hypothesis length, the shorter on ties.
int64_t closest_ref_len(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t best_diff = -1, best_len = -1;
  for (int64_t len : ref_lens) {
    const int64_t diff = std::abs(hyp_len - len);
    if (best_diff == -1 || diff < best_diff) {
      best_diff = diff;
      best_len = len;
    } else if (diff == best_diff && len < best_len) {
      best_len = len;
    }
  }
  return best_len;
}

double default_smooth_value(const BleuOptions& o) {
  if (o.smooth_value) return *o.smooth_value;
  return o.smooth == BleuSmooth::kFloor ? 0.1 : o.smooth == BleuSmooth::kAddK ? 1.0 : 0.0;
}

std::string smooth_name(const BleuOptions& o) {
  switch (o.smooth) {
    case BleuSmooth::kNone:
      return "none";
    case BleuSmooth::kExp:
      return "exp";
    case BleuSmooth::kFloor:
      return fmt::format("floor[{:.2f}]", default_smooth_value(o));
    case BleuSmooth::kAddK:
      return fmt::format("add-k[{:.2f}]", default_smooth_value(o));
  }
  return "";
}

std::string signature(const BleuOptions& o, const std::string& nrefs) {
  return fmt::format("nrefs:{}|case:mixed|eff:{}|tok:{}|smooth:{}", nrefs, o.effective_order ? "yes" : "no",
                     o.tokenize == BleuTokenize::k13a ? "13a" : "none", smooth_name(o));
}

// sacreBLEU's my_log: log floored at -9999999999 for a zero precision.
double floored_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

}  // namespace

std::string tokenize_13a(std::string_view line) {
  std::string s = replace_all(line, "<skipped>", "");
  s = replace_all(s, "-\n", "");
  s = replace_all(s, "\n", " ");
  if (s.find('&') != std::string::npos) {
    s = replace_all(s, "&quot;", "\"");
    s = replace_all(s, "&amp;", "&");
    s = replace_all(s, "&lt;", "<");
    s = replace_all(s, "&gt;", ">");
  }
  // The four regular-expression rules, each a left-to-right scan over non-overlapping matches like re.sub.
  std::string a = " ";
  for (char c : s) {
    if (is_13a_symbol(c)) {
      a += ' ';
      a += c;
      a += ' ';
    } else {
      a += c;
    }
  }
  a += ' ';
  std::string b;  // ([^0-9])([\.,]) -> \1 \2 : a period or comma after a non-digit
  for (size_t i = 0; i < a.size(); ++i) {
    b += a[i];
    if (i + 1 < a.size() && !is_digit(a[i]) && is_period_or_comma(a[i + 1])) {
      b += ' ';
      b += a[++i];
      b += ' ';
    }
  }
  std::string c;  // ([\.,])([^0-9]) -> " \1 \2": a period or comma before a non-digit
  for (size_t i = 0; i < b.size(); ++i) {
    if (i + 1 < b.size() && is_period_or_comma(b[i]) && !is_digit(b[i + 1])) {
      c += ' ';
      c += b[i];
      c += ' ';
      c += b[++i];
    } else {
      c += b[i];
    }
  }
  std::string d;  // ([0-9])(-) -> \1 \2 : a dash after a digit
  for (size_t i = 0; i < c.size(); ++i) {
    d += c[i];
    if (i + 1 < c.size() && is_digit(c[i]) && c[i + 1] == '-') {
      d += ' ';
      d += c[++i];
      d += ' ';
    }
  }
  return join_tokens(d);
}

BleuScore bleu_from_statistics(const std::vector<int64_t>& counts, const std::vector<int64_t>& totals, int64_t hyp_len,
                               int64_t ref_len, const BleuOptions& options) {
  const auto order = static_cast<size_t>(options.max_order);
  ATTN_CHECK(options.max_order >= 1, "BLEU: max_order must be at least 1 (got {})", options.max_order);
  ATTN_CHECK(counts.size() == order && totals.size() == order, "BLEU: {} match counts and {} totals for max_order {}",
             counts.size(), totals.size(), order);
  BleuScore r;
  r.counts = counts;
  r.totals = totals;
  r.hyp_len = hyp_len;
  r.ref_len = ref_len;
  r.ratio = ref_len > 0 ? static_cast<double>(hyp_len) / static_cast<double>(ref_len) : 0.0;
  r.bp = hyp_len >= ref_len ? 1.0
         : hyp_len > 0      ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(hyp_len))
                            : 0.0;
  r.precisions.assign(order, 0.0);
  if (std::all_of(counts.begin(), counts.end(), [](int64_t c) { return c == 0; })) return r;

  const double smooth_value = default_smooth_value(options);
  double smooth_mteval = 1.0;
  size_t effective_order = order;
  for (size_t n = 1; n <= order; ++n) {
    double correct = static_cast<double>(counts[n - 1]), total = static_cast<double>(totals[n - 1]);
    if (options.smooth == BleuSmooth::kAddK && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0) break;
    if (options.effective_order) effective_order = n;
    if (correct == 0) {
      if (options.smooth == BleuSmooth::kExp) {
        smooth_mteval *= 2;
        r.precisions[n - 1] = 100.0 / (smooth_mteval * total);
      } else if (options.smooth == BleuSmooth::kFloor) {
        r.precisions[n - 1] = 100.0 * smooth_value / total;
      }
    } else {
      r.precisions[n - 1] = 100.0 * correct / total;
    }
  }
  double log_sum = 0;
  for (size_t n = 0; n < effective_order; ++n) log_sum += floored_log(r.precisions[n]);
  r.score = r.bp * std::exp(log_sum / static_cast<double>(effective_order));
  return r;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_sets, const BleuOptions& options) {
  ATTN_CHECK(options.max_order >= 1, "BLEU: max_order must be at least 1 (got {})", options.max_order);
  detail::check_corpus("BLEU", hypotheses, reference_sets);
  const auto order = static_cast<size_t>(options.max_order);
  std::vector<int64_t> correct(order, 0), total(order, 0);
  int64_t hyp_len = 0, ref_len = 0;
  detail::WordIds words;
  detail::NgramMatcher matcher;
  std::vector<uint32_t> hyp_units;
  std::vector<std::vector<uint32_t>> ref_units;
  std::vector<int64_t> ref_lens;
  std::vector<detail::OrderCounts> counts;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const auto refs = detail::nonempty_references("BLEU", i, reference_sets);
    ref_units.resize(refs.size());
    ref_lens.clear();
    for (size_t k = 0; k < refs.size(); ++k) {
      to_units(preprocess(refs[k], options.tokenize), &words, &ref_units[k]);
      ref_lens.push_back(static_cast<int64_t>(ref_units[k].size()));
    }
    to_units(preprocess(hypotheses[i], options.tokenize), &words, &hyp_units);
    matcher.match(hyp_units, ref_units, options.max_order, &counts);
    for (size_t n = 0; n < order; ++n) {
      correct[n] += counts[n].matches;
      total[n] += counts[n].hyp;
    }
    const auto len = static_cast<int64_t>(hyp_units.size());
    hyp_len += len;
    ref_len += closest_ref_len(len, ref_lens);
  }
  BleuScore r = bleu_from_statistics(correct, total, hyp_len, ref_len, options);
  r.signature = signature(options, detail::nrefs_field(reference_sets));
  return r;
}

BleuScore sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references,
                        const BleuOptions& options) {
  std::vector<std::vector<std::string>> sets;
  for (const auto& ref : references) sets.push_back({ref});
  return corpus_bleu({hypothesis}, sets, options);
}

std::string BleuScore::format() const {
  std::string precision_text;
  for (size_t n = 0; n < precisions.size(); ++n) {
    precision_text += fmt::format("{}{:.1f}", n > 0 ? "/" : "", precisions[n]);
  }
  return fmt::format("BLEU = {:.2f} {} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})", score, precision_text,
                     bp, ratio, hyp_len, ref_len);
}

}  // namespace attn::metrics
