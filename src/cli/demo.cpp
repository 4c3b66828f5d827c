// `attn demo`: the core at work on built-in data. A toy sentiment task (sentences of filler words with one or
// two sentiment words) is learned by embedding -> additive attention pooling -> linear -> softmax, trained with
// autograd and SGD; then the attention weights of a few sentences are printed, showing the model looks at the
// words that decide the label.
#include "cli/demo.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "attn/autograd/ops/loss.h"
#include "attn/core/rng.h"
#include "attn/kernels/elementwise.h"
#include "attn/nn/attention/pooling.h"
#include "attn/nn/embedding.h"
#include "attn/nn/linear.h"
#include "attn/viz/heatmap.h"

namespace attn::cli {
namespace {

using autograd::Var;

const std::vector<std::string> kFiller = {"the", "movie", "plot", "was", "a", "and", "it", "film", "story", "actor",
                                          "this", "scene", "with", "of", "ending", "music", "really", "quite"};
const std::vector<std::string> kPositive = {"great", "wonderful", "superb", "moving", "brilliant"};
const std::vector<std::string> kNegative = {"awful", "boring", "dull", "terrible", "clumsy"};
constexpr int64_t kLength = 8;

struct Vocabulary {
  std::vector<std::string> words;
  int32_t id(const std::string& w) const {
    for (size_t i = 0; i < words.size(); ++i)
      if (words[i] == w) return int32_t(i);
    return -1;
  }
};

// A sentence of kLength words: filler, plus 1-2 words of the label's sentiment at random places.
std::vector<int32_t> make_sentence(const Vocabulary& vocab, int label, Rng& rng) {
  std::vector<int32_t> s(kLength);
  for (auto& w : s) w = vocab.id(kFiller[rng.uniform_int(kFiller.size())]);
  const auto& cue = label == 1 ? kPositive : kNegative;
  int cues = 1 + int(rng.uniform_int(2));
  for (int c = 0; c < cues; ++c) s[rng.uniform_int(kLength)] = vocab.id(cue[rng.uniform_int(cue.size())]);
  return s;
}

// embedding -> additive attention pooling -> linear
class Model : public nn::Module {
 public:
  Model(int64_t vocab, int64_t dim, Rng& rng)
      : embed(register_module("embed", std::make_shared<nn::Embedding>(vocab, dim, rng))),
        pool(register_module("pool", std::make_shared<nn::AttentionPooling>(dim, dim, rng))),
        out(register_module("out", std::make_shared<nn::Linear>(dim, 2, rng))) {}

  // ids [batch, kLength] -> logits [batch, 2]; weights receives the attention weights [batch, kLength].
  Var forward(const std::vector<int32_t>& ids, int64_t batch, Tensor* weights) const {
    return out->forward(pool->forward(embed->forward(ids, {batch, kLength}), {}, weights));
  }

  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::AttentionPooling> pool;
  std::shared_ptr<nn::Linear> out;
};

void print_heatmap(const Vocabulary& vocab, const std::vector<int32_t>& ids, const float* w, int label,
                   int predicted, bool color) {
  viz::TokenWeights text;
  text.weights.assign(w, w + kLength);
  for (int32_t id : ids) text.tokens.push_back(vocab.words[size_t(id)]);
  fmt::print("  label {} predicted {}: {}", label ? "positive" : "negative", predicted ? "positive" : "negative",
             viz::token_heatmap_ansi(text, color));
  fmt::print("   weights:");
  for (int64_t t = 0; t < kLength; ++t) fmt::print(" {}={:.2f}", text.tokens[size_t(t)], w[t]);
  fmt::print("\n");
}

}  // namespace

int run_demo(const DemoOptions& opt) {
  Vocabulary vocab;
  for (const auto* list : {&kFiller, &kPositive, &kNegative}) vocab.words.insert(vocab.words.end(), list->begin(), list->end());
  Rng rng(opt.seed);
  const int64_t dim = 16, batch = 32;
  Rng init = rng.fork(1), data = rng.fork(2);
  Model m(int64_t(vocab.words.size()), dim, init);

  fmt::print("attn demo: additive attention pooling over {}-word sentences, vocabulary {}, {} steps of SGD\n",
             kLength, vocab.words.size(), opt.steps);
  auto make_batch = [&](std::vector<int32_t>& ids, std::vector<int32_t>& labels) {
    ids.clear();
    labels.clear();
    for (int64_t i = 0; i < batch; ++i) {
      int label = int(data.uniform_int(2));
      auto s = make_sentence(vocab, label, data);
      ids.insert(ids.end(), s.begin(), s.end());
      labels.push_back(label);
    }
  };
  std::vector<int32_t> ids, labels;
  for (int step = 1; step <= opt.steps; ++step) {
    make_batch(ids, labels);
    Var loss = autograd::cross_entropy(m.forward(ids, batch, nullptr), labels);
    loss.backward();
    for (Var p : m.parameters()) {  // plain SGD, to keep the demo to the core
      kernels::axpy(p.numel(), -opt.learning_rate, p.grad().data(), p.value().data());
      p.zero_grad();
    }
    if (step % 50 == 0 || step == 1) fmt::print("step {:4d}  loss {:.4f}\n", step, loss.value().data()[0]);
  }

  autograd::NoGradGuard no_grad;
  int correct = 0, total = 0;
  Tensor weights;
  for (int round = 0; round < 8; ++round) {
    make_batch(ids, labels);
    Tensor logits = m.forward(ids, batch, &weights).value();
    for (int64_t i = 0; i < batch; ++i) correct += (logits.at({i, 1}) > logits.at({i, 0})) == (labels[size_t(i)] == 1);
    total += int(batch);
  }
  fmt::print("held-out accuracy: {:.1f}% ({} / {})\n", 100.0 * correct / total, correct, total);
  fmt::print("attention weights of the last sentences (the sentiment words should carry the weight):\n");
  Tensor logits = m.forward(ids, batch, &weights).value();
  for (int64_t i = 0; i < 4; ++i) {
    std::vector<int32_t> s(ids.begin() + i * kLength, ids.begin() + (i + 1) * kLength);
    print_heatmap(vocab, s, weights.data() + i * kLength, labels[size_t(i)], logits.at({i, 1}) > logits.at({i, 0}),
                  opt.color && isatty(STDOUT_FILENO));
  }
  return correct * 10 >= total * 9 ? 0 : 1;  // the demo checks itself: it should learn the task
}

}  // namespace attn::cli
