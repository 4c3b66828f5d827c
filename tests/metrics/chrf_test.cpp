#include "attn/metrics/chrf.h"

#include <gtest/gtest.h>

#include <map>

#include "attn/text/utf8.h"
#include "support/test_util.h"

namespace attn::metrics {
namespace {

// Expected scores from sacreBLEU's README and test/test_chrf.py (github.com/mjpost/sacrebleu); that file
// checks to 1e-4.
constexpr double kTol = 1e-4;

double chrf3(const std::string& hyp, const std::string& ref, bool eps_smoothing, bool whitespace = false) {
  return corpus_chrf({hyp}, {{ref}}, {.beta = 3, .whitespace = whitespace, .eps_smoothing = eps_smoothing}).score;
}

TEST(ChrfSacrebleu, ReadmeCorpusExample) {
  const std::vector<std::string> hyps = {"The dog bit the man.", "It wasn't surprising.",
                                         "The man had just bitten him."};
  const std::vector<std::vector<std::string>> refs = {
      {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
      {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
  };
  const ChrfScore s = corpus_chrf(hyps, refs);
  EXPECT_EQ(s.format(), "chrF2 = 59.73");
  EXPECT_EQ(s.signature, "nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no");
  EXPECT_EQ(s.hyp_ngrams, (std::vector<int64_t>{58, 55, 52, 49, 46, 43}));
  EXPECT_EQ(s.matches, (std::vector<int64_t>{46, 36, 31, 26, 22, 18}));
}

TEST(ChrfSacrebleu, EpsilonSmoothingCases) {
  EXPECT_NEAR(chrf3("abcdefg", "hijklmnop", true), 0.0, kTol);
  EXPECT_NEAR(chrf3("a", "b", true), 0.0, kTol);
  EXPECT_NEAR(chrf3("", "b", true), 0.0, kTol);
  EXPECT_NEAR(chrf3("", "ref", true), 0.0, kTol);
  EXPECT_NEAR(chrf3("", "reference", true), 0.0, kTol);
  EXPECT_NEAR(chrf3("aa", "ab", true), 8.3333, kTol);
  EXPECT_NEAR(corpus_chrf({"a", "b"}, {{"a", "c"}}, {.beta = 3, .eps_smoothing = true}).score, 8.3333, kTol);
  EXPECT_NEAR(chrf3("a", "a", true), 16.6667, kTol);
  EXPECT_NEAR(chrf3("a b c", "a b c", true), 50.0, kTol);
  EXPECT_NEAR(chrf3("a b c", "abc", true), 50.0, kTol);
  EXPECT_NEAR(chrf3(" risk assessment must be made of those who are qualified and expertise in the sector - these are "
                    "the scientists .",
                    "risk assessment has to be undertaken by those who are qualified and expert in that area - that is "
                    "the scientists .",
                    true),
              63.361730, kTol);
  EXPECT_NEAR(chrf3(" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ",
                    "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.", true),
              64.1302698, kTol);
  EXPECT_NEAR(chrf3("Niemand hat die Absicht, eine Mauer zu errichten",
                    "Niemand hat die Absicht, eine Mauer zu errichten", true),
              100.0, kTol);
}

TEST(ChrfSacrebleu, EffectiveOrderCases) {
  EXPECT_NEAR(chrf3("a", "a", false), 100.0, kTol);
  EXPECT_NEAR(chrf3("", "reference", false), 0.0, kTol);
  EXPECT_NEAR(chrf3("a b c", "a b c", false), 100.0, kTol);
  EXPECT_NEAR(chrf3("a b c", "abc", false), 100.0, kTol);
  EXPECT_NEAR(chrf3("", "c", false), 0.0, kTol);
  EXPECT_NEAR(corpus_chrf({"a", "b"}, {{"a", "c"}}, {.beta = 3}).score, 50.0, kTol);
  EXPECT_NEAR(chrf3("aa", "ab", false), 25.0, kTol);
}

TEST(ChrfSacrebleu, KeepWhitespace) {
  EXPECT_NEAR(chrf3("Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
                    "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.", false, true),
              67.3481606, kTol);
  EXPECT_NEAR(chrf3("risk assessment must be made of those who are qualified and expertise in the sector - these are "
                    "the scientists .",
                    "risk assessment has to be undertaken by those who are qualified and expert in that area - that is "
                    "the scientists .",
                    false, true),
              65.2414427, kTol);
}

TEST(ChrfSacrebleu, SentenceLevelEpsilonSmoothing) {
  const ChrfOptions eps{.eps_smoothing = true};
  EXPECT_NEAR(sentence_chrf("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                            {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."}, eps)
                  .score,
              39.14078509, kTol);
  EXPECT_NEAR(sentence_chrf("Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
                            {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."}, eps)
                  .score,
              31.22557079, kTol);
  EXPECT_NEAR(
      sentence_chrf("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                    {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."}, eps)
          .score,
      57.15704367, kTol);
}

TEST(ChrfPlusPlus, HandComputed) {
  // "(hi)" vs "( hi )": characters "(hi)" on both sides, orders 1-4 perfect. Words: "(hi)" loses its final
  // ")" -> ["(hi", ")"] against ["(", "hi", ")"]: unigrams P 1/2 R 1/3, bigrams 0. Over 6 effective orders
  // P = 4.5 / 6, R = (4 + 1/3) / 6, chrF2++ = 5PR / (4P + R) = 72.761194...
  const ChrfScore s = corpus_chrf({"(hi)"}, {{"( hi )"}}, {.word_order = 2});
  EXPECT_NEAR(s.score, 100 * 5 * 0.75 * (13.0 / 18) / (4 * 0.75 + 13.0 / 18), 1e-10);
  EXPECT_EQ(s.name, "chrF2++");
  EXPECT_EQ(s.hyp_ngrams, (std::vector<int64_t>{4, 3, 2, 1, 0, 0, 2, 1}));
  EXPECT_EQ(s.ref_ngrams, (std::vector<int64_t>{4, 3, 2, 1, 0, 0, 3, 2}));
  EXPECT_EQ(s.matches, (std::vector<int64_t>{4, 3, 2, 1, 0, 0, 1, 0}));
  EXPECT_EQ(s.signature, "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no");
  // "ab c" vs "abc": the same characters (chrF 100), but no word in common (chrF++ 75).
  EXPECT_DOUBLE_EQ(corpus_chrf({"ab c"}, {{"abc"}}).score, 100.0);
  EXPECT_DOUBLE_EQ(corpus_chrf({"ab c"}, {{"abc"}}, {.word_order = 2}).score, 75.0);
}

// Character n-gram statistics of one segment written out plainly with std::map over code-point strings.
void naive_char_stats(const std::u32string& hyp, const std::u32string& ref, std::vector<int64_t>* hyp_ngrams,
                      std::vector<int64_t>* ref_ngrams, std::vector<int64_t>* matches) {
  for (size_t n = 1; n <= 6; ++n) {
    std::map<std::u32string, int64_t> h, r;
    for (size_t i = 0; i + n <= hyp.size(); ++i) ++h[hyp.substr(i, n)];
    for (size_t i = 0; i + n <= ref.size(); ++i) ++r[ref.substr(i, n)];
    int64_t hyp_total = 0, ref_total = 0, match = 0;
    for (const auto& [g, c] : h) {
      hyp_total += c;
      match += std::min(c, r.count(g) ? r[g] : 0);
    }
    for (const auto& [g, c] : r) ref_total += c;
    (*hyp_ngrams)[n - 1] += ref_total > 0 ? hyp_total : 0;
    (*ref_ngrams)[n - 1] += ref_total;
    (*matches)[n - 1] += match;
  }
}

TEST(ChrfProperties, RandomCorporaAgainstNaiveCounting) {
  const std::vector<char32_t> alphabet = {U'a', U'b', U'c', U' ', U'é', U'日', U'\u3000', U'.'};
  for (int round = 0; round < 12; ++round) {
    const auto n = static_cast<size_t>(attn::testing::random_int(1, 20));
    std::vector<std::string> hyps(n), refs(n);
    std::vector<int64_t> hyp_ngrams(6, 0), ref_ngrams(6, 0), matches(6, 0);
    // Appends random text to *utf8 and returns its code points without whitespace.
    auto random_text = [&](std::string* utf8) {
      std::u32string kept;
      const int64_t length = attn::testing::random_int(0, round % 3 == 2 ? 600 : 20);
      for (int64_t k = 0; k < length; ++k) {
        const char32_t c = alphabet[static_cast<size_t>(attn::testing::random_int(0, 7))];
        text::append_utf8(*utf8, c);
        if (c != U' ' && c != U'\u3000') kept.push_back(c);
      }
      return kept;
    };
    for (size_t i = 0; i < n; ++i) {
      const std::u32string h = random_text(&hyps[i]);
      std::u32string r;
      while (refs[i].empty()) r = random_text(&refs[i]);  // an empty reference would count as missing
      naive_char_stats(h, r, &hyp_ngrams, &ref_ngrams, &matches);
    }
    const ChrfScore s = corpus_chrf(hyps, {refs});
    EXPECT_EQ(s.hyp_ngrams, hyp_ngrams) << "round " << round;
    EXPECT_EQ(s.ref_ngrams, ref_ngrams);
    EXPECT_EQ(s.matches, matches);
  }
}

TEST(ChrfProperties, IdenticalEmptyUnicode) {
  const std::vector<std::string> text = {"Hello, world!", "Größe und Maße", "日本語の文です。", "a"};
  EXPECT_DOUBLE_EQ(corpus_chrf(text, {text}).score, 100.0);
  EXPECT_DOUBLE_EQ(corpus_chrf(text, {text}, {.word_order = 2}).score, 100.0);
  EXPECT_EQ(corpus_chrf({""}, {{"reference"}}).score, 0.0);
  EXPECT_EQ(corpus_chrf({}, {{}}).score, 0.0);
  // Code points, not bytes: "é" (2 bytes) and "e" share nothing, "日本" is two characters.
  EXPECT_EQ(corpus_chrf({"é"}, {{"e"}}).score, 0.0);
  const ChrfScore cjk = corpus_chrf({"日本"}, {{"日本"}});
  EXPECT_EQ(cjk.hyp_ngrams, (std::vector<int64_t>{2, 1, 0, 0, 0, 0}));
  // Unicode whitespace (U+3000, U+00A0) is removed like spaces.
  EXPECT_DOUBLE_EQ(corpus_chrf({"a\u3000b\u00a0c"}, {{"abc"}}).score, 100.0);
}

TEST(ChrfProperties, BestReferencePerSegment) {
  // Each segment keeps the statistics of its best reference, wherever that reference is.
  EXPECT_DOUBLE_EQ(corpus_chrf({"abc", "xyz"}, {{"abc", "qqq"}, {"zzz", "xyz"}}).score, 100.0);
  // A missing (empty) reference is skipped; "a b" vs "a c" scores 25 (unigrams 1/2, bigrams 0).
  EXPECT_DOUBLE_EQ(corpus_chrf({"a b"}, {{""}, {"a c"}}).score, 25.0);
}

TEST(ChrfProperties, BadInput) {
  attn::testing::expect_error([] { corpus_chrf({"a"}, {{"a", "b"}}); }, {"chrF", "2 entries for 1 hypotheses"});
  attn::testing::expect_error([] { corpus_chrf({"a"}, {{""}}); }, {"hypothesis 0", "only empty references"});
  attn::testing::expect_error([] { corpus_chrf({"a"}, {{"\xc3"}}); }, {"chrF", "UTF-8"});
  attn::testing::expect_error([] { corpus_chrf({"a"}, {{"a"}}, {.char_order = 0}); }, {"chrF", "char_order"});
}

}  // namespace
}  // namespace attn::metrics
