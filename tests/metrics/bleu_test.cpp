#include "attn/metrics/bleu.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "support/test_util.h"

namespace attn::metrics {
namespace {

// sacreBLEU's README example and test/test_bleu.py (github.com/mjpost/sacrebleu).
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.",
                                        "The man had just bitten him."};
const std::vector<std::vector<std::string>> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
};

// sacreBLEU's raw_corpus_bleu (test/test_bleu.py): no tokenisation, floor smoothing, effective order.
BleuOptions raw_options(std::optional<double> floor = std::nullopt) {
  return {
      .tokenize = BleuTokenize::kNone, .smooth = BleuSmooth::kFloor, .smooth_value = floor, .effective_order = true};
}

TEST(BleuSacrebleu, ReadmeCorpusExample) {
  const BleuScore s = corpus_bleu(kHyps, kRefs);
  EXPECT_EQ(s.format(), "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  EXPECT_NEAR(s.score, 48.530827, 1e-6);
  EXPECT_EQ(s.signature, "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp");
  EXPECT_EQ(s.counts, (std::vector<int64_t>{14, 7, 5, 3}));
  EXPECT_EQ(s.totals, (std::vector<int64_t>{17, 14, 11, 8}));
}

TEST(BleuSacrebleu, ReadmeVariableNumberOfReferences) {
  auto refs = kRefs;
  refs[0][0] = "";  // the first hypothesis has only its second reference
  const BleuScore s = corpus_bleu(kHyps, refs);
  EXPECT_EQ(s.format(), "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
  EXPECT_EQ(s.signature, "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp");
}

TEST(BleuSacrebleu, CorpusCases) {
  EXPECT_NEAR(corpus_bleu({"", "", ""}, kRefs).score, 0.0, 1e-12);  // empty hypotheses are kept, and score 0
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, {.tokenize = BleuTokenize::kNone}).score, 49.1919566, 1e-6);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, {.smooth = BleuSmooth::kNone}).score, 48.530827, 1e-6);
  const std::vector<std::pair<int, std::string>> by_order = {{1, "77.65"}, {2, "60.50"}, {3, "53.93"},
                                                             {4, "48.53"}, {5, "46.14"}, {6, "43.28"}};
  for (const auto& [order, expected] : by_order) {
    EXPECT_EQ(fmt::format("{:.2f}", corpus_bleu(kHyps, kRefs, {.max_order = order}).score), expected) << order;
  }
}

TEST(BleuSacrebleu, RawCorpusBleuCases) {
  // test_raw_bleu and test_effective_order call raw_corpus_bleu(..., 0.01): a floor of 0.01.
  // No match at all scores 0 (sacreBLEU issue #141), even with floor smoothing.
  EXPECT_EQ(corpus_bleu({"this is a test", "another test"}, {{"ref1", "ref2"}}, raw_options(0.01)).score, 0.0);
  EXPECT_NEAR(corpus_bleu({"this is a test"}, {{"this is a test"}}, raw_options(0.01)).score / 100, 1.0, 1e-8);
  EXPECT_NEAR(corpus_bleu({"this is a fest"}, {{"this is a test"}}, raw_options(0.01)).score / 100, 0.223606797749979,
              1e-8);
  // Effective order: orders the hypothesis has no n-grams of are left out of the mean.
  EXPECT_NEAR(corpus_bleu({"test"}, {{"a test"}}, raw_options(0.01)).score / 100, 0.3678794411714425, 1e-8);
  EXPECT_NEAR(corpus_bleu({"a test"}, {{"a test"}}, raw_options(0.01)).score / 100, 1.0, 1e-8);
  EXPECT_NEAR(corpus_bleu({"a little test"}, {{"a test"}}, raw_options(0.01)).score / 100, 0.03218297948685433, 1e-8);
}

TEST(BleuSacrebleu, StatisticsAndFloorOffset) {
  const std::vector<std::string> hyp = {"am I am a character sequence"};
  const std::vector<std::vector<std::string>> ref = {{"I am a symbol string sequence a a"}};
  const BleuScore s = corpus_bleu(hyp, ref, raw_options());
  EXPECT_EQ(s.counts, (std::vector<int64_t>{4, 2, 1, 0}));
  EXPECT_EQ(s.totals, (std::vector<int64_t>{6, 5, 4, 3}));
  EXPECT_NEAR(s.score / 100, 0.1555722182, 1e-8);  // floor defaults to 0.1
  EXPECT_EQ(corpus_bleu(hyp, ref, raw_options(0.0)).score, 0.0);
}

TEST(BleuSacrebleu, ScoreFromStatistics) {
  // BLEU.compute_bleu's default smoothing is 'none'.
  EXPECT_NEAR(bleu_from_statistics({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11, {.smooth = BleuSmooth::kNone}).score / 100,
              0.8375922397, 1e-8);
  // Degenerate statistics with floor smoothing (test_degenerate_statistics) all give exactly 0.
  struct Case {
    std::vector<int64_t> counts, totals;
    int64_t hyp_len, ref_len;
    double floor;
  };
  const std::vector<Case> cases = {
      {{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1, 0.0}, {{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10, 0.0},
      {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.0}, {{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6, 0.0},
      {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.1}, {{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5, 0.01}};
  for (const Case& c : cases) {
    const BleuOptions o{.smooth = BleuSmooth::kFloor, .smooth_value = c.floor};
    EXPECT_EQ(bleu_from_statistics(c.counts, c.totals, c.hyp_len, c.ref_len, o).score, 0.0);
  }
}

TEST(BleuSacrebleu, SentenceBleuSmoothing) {
  // test/test_sentence_bleu.py (sacreBLEU issue #98), effective order on; expected to 1e-3.
  const std::string ref = "producţia de zahăr brut se exprimă în zahăr alb;";
  const std::string sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
  struct Case {
    BleuSmooth smooth;
    std::optional<double> value;
    BleuTokenize tokenize;
    double expected;
  };
  const std::vector<Case> cases = {
      {BleuSmooth::kExp, std::nullopt, BleuTokenize::k13a, 8.493},
      {BleuSmooth::kNone, std::nullopt, BleuTokenize::k13a, 0.0},
      {BleuSmooth::kFloor, std::nullopt, BleuTokenize::k13a, 4.51688},
      {BleuSmooth::kFloor, 0.1, BleuTokenize::k13a, 4.51688},
      {BleuSmooth::kFloor, 0.5, BleuTokenize::k13a, 10.10},
      {BleuSmooth::kAddK, std::nullopt, BleuTokenize::k13a, 14.882},
      {BleuSmooth::kAddK, 1.0, BleuTokenize::k13a, 14.882},
      {BleuSmooth::kAddK, 2.0, BleuTokenize::k13a, 21.389},
      {BleuSmooth::kExp, std::nullopt, BleuTokenize::kNone, 7.347},
  };
  for (const Case& c : cases) {
    const BleuOptions o{.tokenize = c.tokenize, .smooth = c.smooth, .smooth_value = c.value, .effective_order = true};
    EXPECT_NEAR(sentence_bleu(sys, {ref}, o).score, c.expected, 1e-3) << static_cast<int>(c.smooth);
  }
  // No match at all (issue #141) is 0 whatever the smoothing.
  for (BleuSmooth smooth : {BleuSmooth::kExp, BleuSmooth::kNone, BleuSmooth::kFloor, BleuSmooth::kAddK}) {
    EXPECT_EQ(sentence_bleu("this is a cat", {"okay thanks"}, {.smooth = smooth, .effective_order = true}).score, 0.0);
  }
  EXPECT_NEAR(sentence_bleu(sys, {ref}).score, 8.493, 1e-3);  // sentence_bleu's defaults
}

TEST(BleuTokenizer13a, PunctuationAndNumbers) {
  // Expected outputs follow sacreBLEU's tokenizer_13a.py + tokenizer_re.py rules (run through Python's re).
  EXPECT_EQ(tokenize_13a("I'm a student."), "I'm a student .");
  EXPECT_EQ(tokenize_13a("The dog bit the man."), "The dog bit the man .");
  EXPECT_EQ(tokenize_13a("It costs $3.50, or 3,000.5 yen."), "It costs $ 3.50 , or 3,000.5 yen .");
  EXPECT_EQ(tokenize_13a("1990-2000 and well-known"), "1990 - 2000 and well-known");
  EXPECT_EQ(tokenize_13a("a.b,c 3.x x.3 3.3"), "a . b , c 3 . x x . 3 3.3");
  EXPECT_EQ(tokenize_13a("Wait... what?!"), "Wait . . . what ? !");
  EXPECT_EQ(tokenize_13a("(hi) [x] {y} <z> a/b a\\b a|b ~ ^ _ ` @ # % * + = ; :"),
            "( hi ) [ x ] { y } < z > a / b a \\ b a | b ~ ^ _ ` @ # % * + = ; :");
  EXPECT_EQ(tokenize_13a("&quot;Tom &amp; Jerry&quot; &lt;b&gt; &amp;lt;"), "\" Tom & Jerry \" < b > <");
  EXPECT_EQ(tokenize_13a("<skipped> a line-\nbreak\nand <skipped>more"), "a linebreak and more");
  EXPECT_EQ(tokenize_13a("  spaces\tand\r\ntabs  "), "spaces and tabs");
  EXPECT_EQ(tokenize_13a(""), "");
  EXPECT_EQ(tokenize_13a("'quoted' don't"), "'quoted' don't");
}

TEST(BleuTokenizer13a, Unicode) {
  // Non-ASCII letters and punctuation are left alone; Unicode spaces separate (Python's str.split()).
  EXPECT_EQ(tokenize_13a("Größe: 5€, naïve—café."), "Größe : 5€ , naïve—café .");
  EXPECT_EQ(tokenize_13a("日本語。テスト、です."), "日本語。テスト、です .");
  EXPECT_EQ(tokenize_13a("a\u00a0b\u3000c\u2009d\u200be"), "a b c d\u200be");  // U+200B is not a space
  EXPECT_EQ(tokenize_13a("é.é ж,ж"), "é . é ж , ж");
}

// BLEU's definition written out plainly on token lists: every n-gram of orders 1-4 in a std::map, clipped by
// its largest count in any one reference; reference length the closest to the hypothesis (the shorter on ties).
BleuScore naive_bleu(const std::vector<std::vector<std::string>>& hyps,
                     const std::vector<std::vector<std::vector<std::string>>>& refs) {
  std::vector<int64_t> counts(4, 0), totals(4, 0);
  int64_t hyp_len = 0, ref_len = 0;
  for (size_t i = 0; i < hyps.size(); ++i) {
    auto grams = [](const std::vector<std::string>& t) {
      std::map<std::vector<std::string>, int64_t> m;
      for (size_t n = 1; n <= 4; ++n) {
        for (size_t k = 0; k + n <= t.size(); ++k) ++m[std::vector<std::string>(t.begin() + k, t.begin() + k + n)];
      }
      return m;
    };
    std::map<std::vector<std::string>, int64_t> clip;
    int64_t best = -1;
    const auto h = static_cast<int64_t>(hyps[i].size());
    for (const auto& r : refs[i]) {
      for (const auto& [g, c] : grams(r)) clip[g] = std::max(clip[g], c);
      const auto len = static_cast<int64_t>(r.size());
      if (best < 0 || std::abs(h - len) < std::abs(h - best) ||
          (std::abs(h - len) == std::abs(h - best) && len < best)) {
        best = len;
      }
    }
    for (const auto& [g, c] : grams(hyps[i])) {
      totals[g.size() - 1] += c;
      counts[g.size() - 1] += std::min(c, clip[g]);
    }
    hyp_len += h;
    ref_len += best;
  }
  return bleu_from_statistics(counts, totals, hyp_len, ref_len, {.smooth = BleuSmooth::kNone});
}

TEST(BleuProperties, RandomCorporaAgainstNaiveCounting) {
  std::vector<std::string> words = {"a", "b", "c", "d", "the", "ü", "日", "x.y"};
  for (int w = 0; w < 400; ++w) words.push_back("w" + std::to_string(w));
  for (int round = 0; round < 24; ++round) {
    // Mostly short sentences over 8 words (many matches); every fourth round long ones over 408 words.
    const bool big = round % 4 == 3;
    const auto n = static_cast<size_t>(attn::testing::random_int(1, big ? 6 : 30));
    const auto num_refs = static_cast<size_t>(attn::testing::random_int(1, 3));
    auto sentence = [&] {
      std::vector<std::string> t(static_cast<size_t>(attn::testing::random_int(1, big ? 200 : 12)));
      for (auto& w : t) w = words[static_cast<size_t>(attn::testing::random_int(0, big ? 407 : 7))];
      return t;
    };
    auto join = [](const std::vector<std::string>& t) {
      std::string s;
      for (const auto& w : t) s += (s.empty() ? "" : "  ") + w;
      return s;
    };
    std::vector<std::vector<std::string>> hyp_tokens(n);
    std::vector<std::vector<std::vector<std::string>>> ref_tokens(n);
    std::vector<std::string> hyps(n);
    std::vector<std::vector<std::string>> sets(num_refs, std::vector<std::string>(n));
    for (size_t i = 0; i < n; ++i) {
      hyp_tokens[i] = sentence();
      hyps[i] = join(hyp_tokens[i]);
      for (size_t k = 0; k < num_refs; ++k) {
        ref_tokens[i].push_back(sentence());
        sets[k][i] = join(ref_tokens[i].back());
      }
    }
    const BleuScore got = corpus_bleu(hyps, sets, {.tokenize = BleuTokenize::kNone, .smooth = BleuSmooth::kNone});
    const BleuScore want = naive_bleu(hyp_tokens, ref_tokens);
    EXPECT_EQ(got.counts, want.counts) << "round " << round;
    EXPECT_EQ(got.totals, want.totals);
    EXPECT_EQ(got.hyp_len, want.hyp_len);
    EXPECT_EQ(got.ref_len, want.ref_len);
    EXPECT_DOUBLE_EQ(got.score, want.score);
  }
}

TEST(BleuProperties, IdenticalEmptyAndShort) {
  const std::vector<std::string> text = {"Hello, world!", "Ein Satz mit Umlauten: äöü.", "日本語の文です。"};
  const BleuScore same = corpus_bleu(text, {text});
  EXPECT_DOUBLE_EQ(same.score, 100.0);
  EXPECT_EQ(same.bp, 1.0);
  EXPECT_EQ(same.ratio, 1.0);

  const BleuScore empty = corpus_bleu({""}, {{"some reference words here"}});
  EXPECT_EQ(empty.score, 0.0);
  EXPECT_EQ(empty.bp, 0.0);
  EXPECT_EQ(empty.hyp_len, 0);
  EXPECT_EQ(empty.ref_len, 4);
  EXPECT_EQ(corpus_bleu({}, {{}}).score, 0.0);

  // A correct prefix: every precision 100, so the score is the brevity penalty exp(1 - r / c).
  const BleuScore shorter = corpus_bleu({"one two three four five six"}, {{"one two three four five six seven eight"}});
  EXPECT_NEAR(shorter.bp, std::exp(1.0 - 8.0 / 6.0), 1e-15);
  EXPECT_NEAR(shorter.score, 100 * std::exp(1.0 - 8.0 / 6.0), 1e-12);
  // Longer than the reference: no penalty.
  EXPECT_EQ(corpus_bleu({"one two three four five six"}, {{"one two three four"}}).bp, 1.0);
}

TEST(BleuProperties, ClosestReferenceLength) {
  // Hypothesis of 5 tokens; references of 3 and 7 tokens are equally close: the shorter one counts.
  const BleuScore s = corpus_bleu({"a b c d e"}, {{"a b c"}, {"a b c d e f g"}});
  EXPECT_EQ(s.ref_len, 3);
  EXPECT_EQ(corpus_bleu({"a b c d e"}, {{"a b c"}, {"a b c d e f"}}).ref_len, 6);
  // Multi-reference clipping: "the" twice in the hypothesis matches twice only if one reference has it twice.
  EXPECT_EQ(corpus_bleu({"the the"}, {{"the cat"}, {"a dog"}}).counts[0], 1);
  EXPECT_EQ(corpus_bleu({"the the"}, {{"the cat"}, {"the the"}}).counts[0], 2);
}

TEST(BleuProperties, BadInput) {
  attn::testing::expect_error([] { corpus_bleu({"a", "b"}, {{"a"}}); }, {"BLEU", "1 entries for 2 hypotheses"});
  attn::testing::expect_error([] { corpus_bleu({"a"}, {}); }, {"BLEU", "no reference sets"});
  attn::testing::expect_error(
      [] {
        corpus_bleu({"a", "b"}, {{"a", ""}, {"b", ""}});
      },
      {"hypothesis 1", "only empty references"});
  attn::testing::expect_error([] { corpus_bleu({"ok", "bad \xff"}, {{"a", "b"}}); }, {"hypothesis 1", "UTF-8"});
  attn::testing::expect_error([] { corpus_bleu({"a"}, {{"a"}}, {.max_order = 0}); }, {"max_order"});
  attn::testing::expect_error([] { bleu_from_statistics({1}, {1, 2}, 1, 1); }, {"BLEU", "max_order"});
}

}  // namespace
}  // namespace attn::metrics
