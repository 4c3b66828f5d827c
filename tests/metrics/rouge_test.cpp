#include "attn/metrics/rouge.h"

#include <gtest/gtest.h>

#include "metrics/porter_stemmer.h"
#include "support/test_util.h"

namespace attn::metrics {
namespace {

// rouge-score's rouge/rouge_scorer_test.py (github.com/google-research/google-research): its targets and
// predictions (rouge/testdata/target.txt, prediction.txt, pyrouge_files/*_multi.0.txt), whose expected figures
// come from runs of the official ROUGE-1.5.5 and are checked to 5 decimals.
const std::string kTarget0 =
    "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr "
    "q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L";
const std::string kTarget1 =
    "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer "
    "HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion "
    "gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN";
const std::string kPrediction0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi";
const std::string kPrediction1 =
    "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed "
    "nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD";
const std::string kTargetMulti = kTarget0 + "\n" + kTarget1 +
                                 "\nNhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion "
                                 "jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT\nvMR HDm,xOAetion D,tion HJtodT.mHl UIv-p "
                                 "VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM\n";
const std::string kPredictionMulti = kPrediction0 + "\n" + kPrediction1 +
                                     "\nxfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J\nVjWH'"
                                     "BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO\n";

void expect_value(const RougeValue& v, double precision, double recall, double f1, double tol = 1e-12) {
  EXPECT_NEAR(v.precision, precision, tol);
  EXPECT_NEAR(v.recall, recall, tol);
  EXPECT_NEAR(v.f1, f1, tol);
}

RougeScore score(const std::string& target, const std::string& prediction, bool stem = false) {
  return sentence_rouge(prediction, {target}, {.use_stemmer = stem});
}

TEST(RougeScorer, SmallCases) {
  expect_value(score("testing one two", "testing").rouge1, 1, 1.0 / 3, 0.5);
  expect_value(score("testing one two", "testing one").rouge2, 1, 0.5, 2.0 / 3);
  expect_value(score("testing one two", "testing one").rougeL, 1, 2.0 / 3, 0.8);
  expect_value(score("testing one two", "testing two").rougeL, 1, 2.0 / 3, 0.8);  // not consecutive
  const RougeScore both = score("testing one two", "testing one");
  expect_value(both.rouge1, 1, 2.0 / 3, 0.8);
  expect_value(both.rougeL, 1, 2.0 / 3, 0.8);
  const RougeScore empty = score("testing one two", "");
  for (const RougeValue& v : {empty.rouge1, empty.rouge2, empty.rougeL, empty.rougeLsum}) expect_value(v, 0, 0, 0);
}

TEST(RougeScorer, AgainstRouge155) {
  constexpr double kTol = 5e-6;
  const RougeScore s0 = score(kTarget0, kPrediction0), s1 = score(kTarget1, kPrediction1);
  expect_value(s0.rouge1, 0.68750, 0.40741, 0.51163, kTol);
  expect_value(s1.rouge1, 0.65385, 0.40476, 0.50000, kTol);
  expect_value(s0.rouge2, 0.53333, 0.30769, 0.39024, kTol);
  expect_value(s1.rouge2, 0.48000, 0.29268, 0.36364, kTol);
  expect_value(s0.rougeL, 0.68750, 0.40741, 0.51163, kTol);
  expect_value(s1.rougeL, 0.65385, 0.40476, 0.50000, kTol);
}

TEST(RougeScorer, AgainstRouge155WithStemming) {
  constexpr double kTol = 5e-6;
  const RougeScore s0 = score(kTarget0, kPrediction0, true), s1 = score(kTarget1, kPrediction1, true);
  expect_value(s0.rouge1, 0.68750, 0.40741, 0.51163, kTol);
  expect_value(s1.rouge1, 0.69231, 0.42857, 0.52941, kTol);  // "...ing" / "...er" words now match
  expect_value(s0.rouge2, 0.53333, 0.30769, 0.39024, kTol);
  expect_value(s1.rouge2, 0.48000, 0.29268, 0.36364, kTol);
  expect_value(score(kTargetMulti, kPredictionMulti, true).rougeLsum, 0.66667, 0.36538, 0.47205, kTol);
}

TEST(RougeScorer, RougeLsum) {
  // testRougeLsum / testSummaryLevelLcs: the union LCS of "w1 w2 w3 w4 w5" with the two candidate sentences is
  // w1 w2 w3 w5: recall 4/5, precision 4/10.
  const RougeScore s = score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
  expect_value(s.rougeLsum, 0.4, 0.8, 2 * 0.4 * 0.8 / 1.2);
  expect_value(score("w1 w2 w3 w4 w5", "").rougeLsum, 0, 0, 0);
  expect_value(score("", "w1").rougeLsum, 0, 0, 0);
  expect_value(score("w1 w2 w3 w4 w5", "/").rougeLsum, 0, 0, 0);  // no tokens at all
  // A token is credited at most as often as it occurs on both sides: both reference sentences' LCS unions
  // hold "a", but the prediction has a single "a".
  expect_value(score("a b\na c", "a").rougeLsum, 1.0, 0.25, 0.4);
}

TEST(RougeTokenizer, LowercaseAlphanumericRuns) {
  using V = std::vector<std::string>;
  EXPECT_EQ(rouge_tokenize("The quick-brown fox's 2nd   JUMP!"),
            (V{"the", "quick", "brown", "fox", "s", "2nd", "jump"}));
  // Python's lower(): U+0130 becomes "i" plus a combining dot (a separator), the Kelvin sign U+212A becomes "k";
  // other letters outside ASCII separate tokens.
  EXPECT_EQ(rouge_tokenize("İstanbul KELVIN 5\u212a naïve Straße 1990s don't"),
            (V{"i", "stanbul", "kelvin", "5k", "na", "ve", "stra", "e", "1990s", "don", "t"}));
  EXPECT_EQ(rouge_tokenize("日本語 / — …"), V{});
  // Stemming applies to tokens longer than 3 characters only.
  EXPECT_EQ(rouge_tokenize("Running dogs ran, ties lies generously", true),
            (V{"run", "dog", "ran", "tie", "lie", "gener"}));
}

TEST(RougePorterStemmer, MatchesNltk) {
  // NLTK 3.8 PorterStemmer().stem(word), default NLTK_EXTENSIONS mode: the examples of Porter's paper (step by
  // step) and NLTK's irregular forms. The full port was also compared with NLTK on 92,608 words (English
  // text and generated suffix combinations) without a difference.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"caresses", "caress"},
      {"ponies", "poni"},
      {"ties", "tie"},
      {"cats", "cat"},
      {"feed", "feed"},
      {"agreed", "agre"},
      {"plastered", "plaster"},
      {"bled", "bled"},
      {"motoring", "motor"},
      {"sing", "sing"},
      {"conflated", "conflat"},
      {"troubled", "troubl"},
      {"sized", "size"},
      {"hopping", "hop"},
      {"tanned", "tan"},
      {"falling", "fall"},
      {"hissing", "hiss"},
      {"fizzed", "fizz"},
      {"failing", "fail"},
      {"filing", "file"},
      {"happy", "happi"},
      {"sky", "sky"},
      {"skies", "sky"},
      {"dying", "die"},
      {"lying", "lie"},
      {"news", "news"},
      {"innings", "inning"},
      {"proceed", "proceed"},
      {"relational", "relat"},
      {"conditional", "condit"},
      {"rational", "ration"},
      {"valenci", "valenc"},
      {"hesitanci", "hesit"},
      {"digitizer", "digit"},
      {"conformabli", "conform"},
      {"radicalli", "radic"},
      {"differentli", "differ"},
      {"vileli", "vile"},
      {"analogousli", "analog"},
      {"vietnamization", "vietnam"},
      {"predication", "predic"},
      {"operator", "oper"},
      {"feudalism", "feudal"},
      {"decisiveness", "decis"},
      {"hopefulness", "hope"},
      {"callousness", "callous"},
      {"formaliti", "formal"},
      {"sensitiviti", "sensit"},
      {"sensibiliti", "sensibl"},
      {"triplicate", "triplic"},
      {"formative", "form"},
      {"formalize", "formal"},
      {"electriciti", "electr"},
      {"electrical", "electr"},
      {"hopeful", "hope"},
      {"goodness", "good"},
      {"revival", "reviv"},
      {"allowance", "allow"},
      {"inference", "infer"},
      {"airliner", "airlin"},
      {"gyroscopic", "gyroscop"},
      {"adjustable", "adjust"},
      {"defensible", "defens"},
      {"irritant", "irrit"},
      {"replacement", "replac"},
      {"adjustment", "adjust"},
      {"dependent", "depend"},
      {"adoption", "adopt"},
      {"homologou", "homolog"},
      {"communism", "commun"},
      {"activate", "activ"},
      {"angulariti", "angular"},
      {"homologous", "homolog"},
      {"effective", "effect"},
      {"bowdlerize", "bowdler"},
      {"probate", "probat"},
      {"rate", "rate"},
      {"cease", "ceas"},
      {"controlling", "control"},
      {"rolling", "roll"},
      {"generously", "gener"},
      {"geology", "geolog"},
      {"enjoy", "enjoy"},
      {"spied", "spi"},
      {"flies", "fli"},
      {"dies", "die"},
      {"generalizations", "gener"},
      {"summarization", "summar"},
      {"1990s", "1990"},
      {"tion", "tion"},
      {"ring", "ring"},
      {"ed", "ed"},
      {"a", "a"},
  };
  for (const auto& [word, stem] : cases) EXPECT_EQ(detail::porter_stem(word), stem) << word;
}

TEST(RougeProperties, MultiReferencePicksBestPerType) {
  // rouge1 is best against the first reference (all words, wrong order), rouge2 and rougeL against the second.
  const RougeScore s = sentence_rouge("a b c d", {"d c b a", "a b x y"});
  expect_value(s.rouge1, 1, 1, 1);
  expect_value(s.rouge2, 1.0 / 3, 1.0 / 3, 1.0 / 3);
  expect_value(s.rougeL, 0.5, 0.5, 0.5);
  // Ties keep the first reference; an empty reference scores 0 and never wins over a real one.
  const RougeScore tie = sentence_rouge("a b", {"a", "b"});
  expect_value(tie.rouge1, 0.5, 1, 2.0 / 3);
  expect_value(sentence_rouge("a b", {"", "a b"}).rouge1, 1, 1, 1);
}

TEST(RougeProperties, CorpusMeanIdenticalAndEmpty) {
  const RougeCorpus c = corpus_rouge({"testing one two", "testing", "nothing shared"},
                                     {{"testing one two", "testing one two", "at all"}});
  ASSERT_EQ(c.per_pair.size(), 3u);
  expect_value(c.per_pair[0].rouge1, 1, 1, 1);
  expect_value(c.per_pair[1].rouge1, 1, 1.0 / 3, 0.5);
  expect_value(c.per_pair[2].rouge1, 0, 0, 0);
  expect_value(c.mean.rouge1, 2.0 / 3, (1 + 1.0 / 3) / 3, 0.5);
  expect_value(c.mean.rougeL, 2.0 / 3, (1 + 1.0 / 3) / 3, 0.5);
  EXPECT_EQ(corpus_rouge({}, {{}}).per_pair.size(), 0u);
  EXPECT_EQ(corpus_rouge({}, {{}}).mean.rouge1.f1, 0.0);
  // Case and punctuation do not matter; identical text scores 1 everywhere.
  const RougeScore same = sentence_rouge("The CAT sat.\nOn the mat!", {"the cat sat on the mat"});
  for (const RougeValue& v : {same.rouge1, same.rouge2, same.rougeL}) expect_value(v, 1, 1, 1);
}

TEST(RougeProperties, BadInput) {
  attn::testing::expect_error([] { corpus_rouge({"a", "b"}, {{"a"}}); }, {"ROUGE", "1 entries for 2 hypotheses"});
  attn::testing::expect_error([] { sentence_rouge("a", {}); }, {"ROUGE", "no reference sets"});
  attn::testing::expect_error([] { sentence_rouge("a\xe2\x82", {"a"}); }, {"ROUGE", "UTF-8"});
  attn::testing::expect_error([] { rouge_tokenize("\x80"); }, {"ROUGE", "UTF-8"});
}

}  // namespace
}  // namespace attn::metrics
