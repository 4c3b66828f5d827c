// Language-model pretraining of a recurrent classifier's encoder on the training texts themselves, before the
// classifier is trained (Dai & Le 2015's sequence-autoencoder idea in its language-model form; ELMo's two
// directions): the left-to-right half of the BiLSTM/BiGRU states predicts the next token, the right-to-left half
// the previous one, through one output layer shared by both. Labels are not used, so the embedding and encoder
// start the supervised training knowing which tokens behave alike; on small data sets this is worth points of
// accuracy, with no data from outside.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "attn/nn/linear.h"
#include "attn/optim/optimizer.h"
#include "attn/tasks/classify/text_classifier.h"
#include "attn/train/trainer.h"

namespace attn::tasks::classify {

// Targets of the two directions for ids [batch, time] with lengths [batch]: next[b, t] = ids[b, t + 1] and
// prev[b, t] = ids[b, t - 1] where that position lies inside the text, and ignore_index where it does not, where
// the target is <unk> or padding, or where it is not below `vocab`.
struct LanguageModelTargets {
  std::vector<int32_t> next, prev;
};
LanguageModelTargets language_model_targets(std::span<const int32_t> ids, std::span<const int32_t> lengths,
                                            int64_t batch, int64_t time, int64_t vocab, int32_t ignore_index);

// The classifier with the language model's output layer: parameter names "net.<classifier's>" and
// "lm.{weight,bias}". Only the classifier's embedding and encoder take part.
class PretrainModel : public nn::Module {
 public:
  PretrainModel(std::shared_ptr<TextClassifier> net, int64_t vocab, Rng& rng);
  // Mean next-token loss of the two directions over a padded batch (shape []).
  nn::Var loss(std::span<const int32_t> ids, std::span<const int32_t> lengths, int64_t batch, int64_t time);
  int64_t vocab() const { return lm_->out_features(); }

 private:
  std::shared_ptr<TextClassifier> net_;
  std::shared_ptr<nn::Linear> lm_;
};

struct PretrainRequest {
  const std::vector<std::vector<int32_t>>* train_ids = nullptr;  // encoded training texts
  const std::vector<std::vector<int32_t>>* valid_ids = nullptr;  // encoded validation texts (perplexity)
  int64_t vocab_size = 0;                                        // the classifier's vocabulary
  std::string fingerprint;  // what the checkpoint's parameters depend on (TrainTask::fingerprint)
  train::TrainerOptions options;  // epochs, schedule, checkpoint path, resume, progress; patience is ignored
  std::function<std::unique_ptr<optim::Optimizer>(nn::Module&)> make_optimizer;  // as for the classifier
};

// Pretrains `net`'s embedding and encoder in place (it ends with the parameters of the best validation
// perplexity). Throws attn::Error for a Transformer classifier: its encoder reads both ways at every layer.
train::TrainResult pretrain_encoder(const std::shared_ptr<TextClassifier>& net, const ClassifyConfig& config,
                                    const PretrainRequest& request);

}  // namespace attn::tasks::classify
