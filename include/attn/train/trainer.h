// The one training loop every task plugs into: epochs of batches, gradient clipping, a learning-rate schedule,
// validation after each epoch, early stopping, keeping the best parameters, progress on the terminal, and a
// resumable checkpoint written after every epoch and when the user presses Ctrl-C.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attn/nn/module.h"
#include "attn/optim/optimizer.h"
#include "attn/optim/schedule.h"

namespace attn::train {

struct TrainerOptions {
  int64_t epochs = 10;
  int64_t patience = 3;            // stop after this many epochs without a better validation score; 0: never
  float clip_norm = 0.0f;          // clip the global gradient norm to this; 0: no clipping
  optim::ScheduleConfig schedule;  // linear/cosine with total_steps 0: decay over the whole run
  std::string checkpoint_path;     // written after each epoch and on Ctrl-C; empty: no checkpoints
  bool resume = false;             // continue from checkpoint_path
  double max_seconds = 0;          // time budget of this run: it stops mid-epoch so that, with the validation that
                                   // follows, it ends within the budget (estimated from the last validation); 0: none
  float ema_decay = 0;             // > 0: keep an exponential moving average of the parameters (this decay per
                                   // step, warmed up as min(decay, (1 + t) / (10 + t))); it is what is validated,
                                   // kept as best and returned (Marian's exponential smoothing); 0: off
  std::string unit = "ex";         // what the progress rate counts
  bool progress = true;            // false: print nothing
};

// One batch's contribution, summed over its examples.
struct StepStats {
  double loss_sum = 0;    // sum of per-example losses
  int64_t examples = 0;
  int64_t units = 0;      // e.g. tokens, for the throughput figure (0: examples)
  int64_t correct = -1;   // examples predicted right; -1: not a classification task
};

// The validation result; higher score is better.
struct Validation {
  double score = 0;
  std::vector<std::pair<std::string, double>> metrics;  // printed in order, the score's own among them
};

// What a task gives the Trainer.
class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual nn::Module& model() = 0;
  // The batches of one epoch (indices into the task's training set): a pure function of the epoch number, so
  // that a resumed run sees the same order.
  virtual std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) = 0;
  // Forward and backward over one batch; gradients accumulate into the model's parameters. The loss must be a
  // mean over the batch (the Trainer does not rescale).
  virtual StepStats train_step(const std::vector<size_t>& batch) = 0;
  // Runs with the model in evaluation mode and no gradients.
  virtual Validation validate() = 0;
  // Identifies everything the checkpoint's parameters depend on besides their shapes (config, vocabulary,
  // labels): a resumed run with a different fingerprint is refused.
  virtual std::string fingerprint() const = 0;
};

struct TrainResult {
  int64_t epochs_done = 0;   // epochs finished (all of them, across resumes)
  int64_t steps = 0;         // optimizer updates
  double best_score = 0;
  int64_t best_epoch = 0;    // 1-based; 0: no validation finished
  bool interrupted = false;  // Ctrl-C: a checkpoint was written (when there is a path) and the run stopped
  bool early_stopped = false;
  bool out_of_time = false;  // max_seconds ran out; the checkpoint continues from where the run stopped
  double seconds = 0;
  double step_seconds = 0;   // in training steps (forward, backward, clipping, update): throughput's time
  std::vector<Validation> history;  // one per epoch of this run
};

// Trains until the epochs are done, early stopping, the time budget, or Ctrl-C; the model ends with the best
// parameters seen (those of the best validation; the last ones, or their moving average, when nothing was
// validated). A non-finite loss or gradient norm stops training with attn::Error naming the epoch and step.
TrainResult train(TrainTask& task, optim::Optimizer& optimizer, const TrainerOptions& options);

// Where a task keeps the checkpoint of a run that writes the model directory `output_dir`: "<output_dir>.checkpoint".
std::string checkpoint_path_for(const std::string& output_dir);
// A short hex digest (64-bit FNV-1a) of the text, for TrainTask::fingerprint.
std::string digest(std::string_view text);

// The checkpoint file: model parameters ("model.<name>"), best parameters ("best.<name>"), the moving average
// ("ema.<name>"), optimizer state
// ("optim.<name>") and, in its metadata, the loop's position and the state of the model's random generators.
// Exposed for tests and tools.
struct CheckpointState {
  int64_t epoch = 0;       // the epoch in progress (0-based)
  int64_t next_batch = 0;  // its next batch
  int64_t steps = 0;
  double best_score = 0;
  int64_t best_epoch = 0;
  int64_t bad_epochs = 0;
  std::string fingerprint;
  std::map<std::string, std::array<uint64_t, 2>> rngs;  // the model's random generators by name: seed, counter
};
nlohmann::json to_json(const CheckpointState& state);
CheckpointState checkpoint_state_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace attn::train
