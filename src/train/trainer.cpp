#include "attn/train/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/io/safetensors.h"
#include "attn/optim/clip.h"
#include "attn/train/interrupt.h"
#include "attn/train/progress.h"

namespace attn::train {
namespace {

using autograd::Var;

constexpr const char* kCheckpointKey = "attn.checkpoint";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<Tensor> copy_values(const std::vector<std::pair<std::string, Var>>& named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (const auto& [name, v] : named) out.push_back(v.value().clone());
  return out;
}

void copy_into(const std::vector<std::pair<std::string, Var>>& named, const std::vector<Tensor>& values) {
  for (size_t i = 0; i < named.size(); ++i) {
    Tensor dst = named[i].second.value();
    dst.copy_from(values[i]);
  }
}

using NamedRngs = std::vector<std::pair<std::string, Rng*>>;

// ema = d ema + (1 - d) parameters after step `step` (1-based), d = min(decay, (1 + step) / (10 + step)): the
// warm-up keeps the average from clinging to the initial parameters.
void update_ema(std::vector<Tensor>& ema, const std::vector<std::pair<std::string, Var>>& named, float decay,
                int64_t step) {
  const float d = std::min(decay, float(1 + step) / float(10 + step));
  for (size_t i = 0; i < ema.size(); ++i) {
    const Tensor& value = named[i].second.value();
    ATTN_CHECK(value.is_contiguous(), "train: parameter '{}' is not contiguous", named[i].first);
    float* e = ema[i].data();
    const float* p = value.data();
    const int64_t n = value.numel();
#pragma omp parallel for simd if (n >= (int64_t(1) << 16))
    for (int64_t j = 0; j < n; ++j) e[j] += (1.0f - d) * (p[j] - e[j]);
  }
}

void write_checkpoint(const std::string& path, const std::vector<std::pair<std::string, Var>>& named,
                      const NamedRngs& rngs, const std::vector<Tensor>& best, const std::vector<Tensor>& ema,
                      const optim::Optimizer& optimizer, CheckpointState st) {
  for (const auto& [name, rng] : rngs) st.rngs[name] = {rng->seed(), rng->counter()};
  io::NamedTensors tensors;
  for (const auto& [name, v] : named) tensors.emplace_back("model." + name, v.value());
  for (size_t i = 0; i < best.size(); ++i) tensors.emplace_back("best." + named[i].first, best[i]);
  for (size_t i = 0; i < ema.size(); ++i) tensors.emplace_back("ema." + named[i].first, ema[i]);
  for (auto& [name, t] : optimizer.state()) tensors.emplace_back("optim." + name, t);
  io::save_safetensors(path, tensors, {{kCheckpointKey, to_json(st).dump()}});
}

// Restores parameters, best parameters, the moving average (when `ema` is not empty: it has the shapes to expect)
// and optimizer state; returns the loop's position.
CheckpointState read_checkpoint(const std::string& path, const std::string& fingerprint,
                                const std::vector<std::pair<std::string, Var>>& named, const NamedRngs& rngs,
                                std::vector<Tensor>& best, std::vector<Tensor>& ema, optim::Optimizer& optimizer) {
  io::SafetensorsFile file = io::read_safetensors(path);
  auto meta = file.metadata.find(kCheckpointKey);
  ATTN_CHECK(meta != file.metadata.end(), "{}: not an attn training checkpoint (no '{}' metadata)", path,
             kCheckpointKey);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(meta->second);
  } catch (const nlohmann::json::exception& e) {
    ATTN_CHECK(false, "{}: corrupt checkpoint metadata: {}", path, e.what());
  }
  CheckpointState st = checkpoint_state_from_json(j, path);
  ATTN_CHECK(st.fingerprint == fingerprint,
             "{}: the checkpoint was made with other data or settings (its vocabulary, labels or config differ); "
             "train afresh without --resume",
             path);
  std::map<std::string, Tensor> model, best_found, ema_found;
  optim::NamedTensors optim_state;
  for (auto& [name, t] : file.tensors) {
    if (name.starts_with("model.")) model.emplace(name.substr(6), t);
    else if (name.starts_with("best.")) best_found.emplace(name.substr(5), t);
    else if (name.starts_with("optim.")) optim_state.emplace_back(name.substr(6), t);
    else if (name.starts_with("ema.")) ema_found.emplace(name.substr(4), t);
    else ATTN_CHECK(false, "{}: unexpected tensor '{}' in checkpoint", path, name);
  }
  auto fetch = [&](std::map<std::string, Tensor>& from, const std::string& name, const Tensor& like,
                   const char* what) -> Tensor {
    auto it = from.find(name);
    ATTN_CHECK(it != from.end(), "{}: checkpoint lacks {} parameter '{}'", path, what, name);
    ATTN_CHECK(it->second.shape() == like.shape(), "{}: checkpoint {} parameter '{}' has shape {}, the model {}",
               path, what, name, shape_str(it->second.shape()), shape_str(like.shape()));
    return it->second;
  };
  std::vector<Tensor> values;
  for (const auto& [name, v] : named) values.push_back(fetch(model, name, v.value(), "model"));
  std::vector<Tensor> best_values;
  if (st.best_epoch > 0)
    for (const auto& [name, v] : named) best_values.push_back(fetch(best_found, name, v.value(), "best"));
  std::vector<Tensor> ema_values;
  if (!ema.empty())
    for (const auto& [name, v] : named) ema_values.push_back(fetch(ema_found, name, v.value(), "moving-average"));
  ATTN_CHECK(model.size() == named.size(), "{}: checkpoint has {} model parameters, the model {}", path,
             model.size(), named.size());
  for (const auto& [name, rng] : rngs)
    ATTN_CHECK(st.rngs.count(name), "{}: checkpoint lacks random generator '{}'", path, name);
  ATTN_CHECK(st.rngs.size() == rngs.size(), "{}: checkpoint has {} random generators, the model {}", path,
             st.rngs.size(), rngs.size());
  optimizer.load_state(optim_state);  // checks everything before changing anything
  copy_into(named, values);
  for (const auto& [name, rng] : rngs) {
    const auto [seed, counter] = st.rngs.at(name);
    *rng = Rng(seed);
    rng->set_counter(counter);
  }
  best = std::move(best_values);
  if (!ema.empty()) ema = std::move(ema_values);
  return st;
}

std::string format_metrics(const std::vector<std::pair<std::string, double>>& metrics) {
  std::string s;
  for (const auto& [name, value] : metrics) s += fmt::format(" {} {:.4f}", name, value);
  return s;
}

}  // namespace

nlohmann::json to_json(const CheckpointState& st) {
  return {{"epoch", st.epoch},           {"next_batch", st.next_batch}, {"steps", st.steps},
          {"best_score", st.best_score}, {"best_epoch", st.best_epoch}, {"bad_epochs", st.bad_epochs},
          {"fingerprint", st.fingerprint}, {"rngs", st.rngs}};
}

CheckpointState checkpoint_state_from_json(const nlohmann::json& j, const std::string& where) {
  CheckpointState st;
  try {
    st.epoch = j.at("epoch").get<int64_t>();
    st.next_batch = j.at("next_batch").get<int64_t>();
    st.steps = j.at("steps").get<int64_t>();
    st.best_score = j.at("best_score").get<double>();
    st.best_epoch = j.at("best_epoch").get<int64_t>();
    st.bad_epochs = j.at("bad_epochs").get<int64_t>();
    st.fingerprint = j.at("fingerprint").get<std::string>();
    if (j.contains("rngs")) st.rngs = j.at("rngs").get<std::map<std::string, std::array<uint64_t, 2>>>();
  } catch (const nlohmann::json::exception& e) {
    ATTN_CHECK(false, "{}: corrupt checkpoint state: {}", where, e.what());
  }
  ATTN_CHECK(st.epoch >= 0 && st.next_batch >= 0 && st.steps >= 0 && st.best_epoch >= 0 && st.bad_epochs >= 0,
             "{}: corrupt checkpoint state (negative counters)", where);
  return st;
}

TrainResult train(TrainTask& task, optim::Optimizer& optimizer, const TrainerOptions& o) {
  ATTN_CHECK(o.epochs >= 1, "train: epochs must be >= 1, got {}", o.epochs);
  ATTN_CHECK(o.patience >= 0, "train: patience must be >= 0, got {}", o.patience);
  ATTN_CHECK(std::isfinite(o.clip_norm) && o.clip_norm >= 0, "train: clip norm must be >= 0, got {}", o.clip_norm);
  ATTN_CHECK(!o.resume || !o.checkpoint_path.empty(), "train: --resume needs a checkpoint path");
  ATTN_CHECK(std::isfinite(o.max_seconds) && o.max_seconds >= 0, "train: the time budget must be >= 0, got {}",
             o.max_seconds);
  ATTN_CHECK(o.ema_decay >= 0 && o.ema_decay < 1, "train: the moving average's decay must lie in [0, 1), got {}",
             o.ema_decay);
  const auto t0 = Clock::now();
  nn::Module& model = task.model();
  const auto named = model.named_parameters();
  const NamedRngs rngs = model.named_rngs();
  const std::vector<Var> params = model.parameters();

  CheckpointState st;
  st.fingerprint = task.fingerprint();
  std::vector<Tensor> best;
  std::vector<Tensor> ema;  // the moving average of the parameters, when o.ema_decay > 0
  if (o.ema_decay > 0) ema = copy_values(named);
  if (o.resume) {
    st = read_checkpoint(o.checkpoint_path, st.fingerprint, named, rngs, best, ema, optimizer);
  }

  optim::ScheduleConfig schedule_config = o.schedule;
  std::vector<std::vector<size_t>> batches = task.epoch_batches(st.epoch);
  ATTN_CHECK(!batches.empty(), "train: no training batches");
  const bool decays =
      schedule_config.kind == optim::ScheduleKind::kLinear || schedule_config.kind == optim::ScheduleKind::kCosine;
  if (decays && schedule_config.total_steps == 0)
    schedule_config.total_steps = std::max<int64_t>(o.epochs * int64_t(batches.size()), schedule_config.warmup_steps + 1);
  const optim::Schedule schedule(schedule_config);

  TrainResult result;
  result.epochs_done = std::min(st.epoch, o.epochs);
  InterruptGuard interrupt_guard;
  clear_interrupt();  // a Ctrl-C meant for an earlier run in this process is not this run's
  auto say = [&](const std::string& line) {
    if (o.progress) std::fprintf(stderr, "%s\n", line.c_str());
  };
  auto stop_for_interrupt = [&](bool write) {
    result.interrupted = true;
    if (o.checkpoint_path.empty()) {
      say("interrupted");
      return;
    }
    if (write) write_checkpoint(o.checkpoint_path, named, rngs, best, ema, optimizer, st);
    say(fmt::format("interrupted: checkpoint written to {} (continue with --resume)", o.checkpoint_path));
  };

  auto say_out_of_time = [&] {
    say(fmt::format("time budget of {:.1f} min reached after {:.1f} min", o.max_seconds / 60, seconds_since(t0) / 60));
  };
  double validation_seconds = 0;  // the last validation's duration: the time budget keeps room for one more
  int64_t steps_this_run = 0;
  for (; st.epoch < o.epochs; ++st.epoch) {
    if (st.epoch > 0 && batches.empty()) batches = task.epoch_batches(st.epoch);
    const auto epoch_t0 = Clock::now();
    model.train();
    std::optional<Progress> progress;
    if (o.progress) {
      Progress::Options popt;
      popt.unit = o.unit;
      progress.emplace(fmt::format("epoch {}/{}", st.epoch + 1, o.epochs), int64_t(batches.size()), popt);
      progress->advance(st.next_batch);
    }
    const int64_t first_batch = st.next_batch;
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    bool classification = false;
    for (; st.next_batch < int64_t(batches.size()); ++st.next_batch) {
      if (interrupt_requested()) {
        if (progress) progress->finish();
        stop_for_interrupt(true);
        break;
      }
      if (o.max_seconds > 0 && steps_this_run > 0 && seconds_since(t0) + validation_seconds >= o.max_seconds) {
        result.out_of_time = true;
        break;
      }
      const auto step_t0 = Clock::now();
      optimizer.zero_grad();
      const StepStats s = task.train_step(batches[size_t(st.next_batch)]);
      ATTN_CHECK(std::isfinite(s.loss_sum),
                 "train: the loss became {} at epoch {} step {} (try a lower learning rate or --clip)", s.loss_sum,
                 st.epoch + 1, st.next_batch + 1);
      if (o.clip_norm > 0) {
        float norm = optim::clip_grad_norm(params, o.clip_norm, 2.0f, /*allow_nonfinite=*/true);
        ATTN_CHECK(std::isfinite(norm), "train: the gradient norm became {} at epoch {} step {}", norm,
                   st.epoch + 1, st.next_batch + 1);
      }
      ++st.steps;
      ++steps_this_run;
      optimizer.set_lr(schedule.lr_at(st.steps));
      optimizer.step();
      if (!ema.empty()) update_ema(ema, named, o.ema_decay, st.steps);
      result.step_seconds += seconds_since(step_t0);
      loss_sum += s.loss_sum;
      seen += s.examples;
      if (s.correct >= 0) {
        classification = true;
        correct += s.correct;
      }
      if (progress) {
        progress->set_metric("loss", loss_sum / double(std::max<int64_t>(seen, 1)));
        if (classification) progress->set_metric("acc", double(correct) / double(std::max<int64_t>(seen, 1)));
        progress->set_metric("lr", optimizer.lr());
        progress->advance(1, s.units > 0 ? s.units : s.examples);
      }
    }
    if (result.interrupted) break;
    if (progress) progress->finish();
    const int64_t stopped_at = st.next_batch;
    if (result.out_of_time && stopped_at == first_batch) {  // nothing new to validate; the checkpoint is current
      say_out_of_time();
      break;
    }
    const int64_t epoch_batches = int64_t(batches.size());
    st.next_batch = 0;
    batches.clear();

    Validation v;
    model.eval();
    std::vector<Tensor> training_values;  // with a moving average, it is what is validated and kept
    if (!ema.empty()) {
      training_values = copy_values(named);
      copy_into(named, ema);
    }
    {
      const auto validation_t0 = Clock::now();
      autograd::NoGradGuard no_grad;
      v = task.validate();
      validation_seconds = seconds_since(validation_t0);
    }
    result.history.push_back(v);
    const bool improved = st.best_epoch == 0 || v.score > st.best_score;
    if (improved) {
      best = copy_values(named);
      st.best_score = v.score;
      st.best_epoch = st.epoch + 1;
      st.bad_epochs = 0;
    } else {
      ++st.bad_epochs;
    }
    if (!ema.empty()) copy_into(named, training_values);
    std::string line = fmt::format("epoch {}/{}", st.epoch + 1, o.epochs);
    if (result.out_of_time) line += fmt::format(" (step {} of {})", stopped_at, epoch_batches);
    line += fmt::format(": train loss {:.4f}", loss_sum / double(std::max<int64_t>(seen, 1)));
    if (classification) line += fmt::format(" acc {:.4f}", double(correct) / double(std::max<int64_t>(seen, 1)));
    line += fmt::format(" | valid{} | {:.1f} s{}", format_metrics(v.metrics), seconds_since(epoch_t0),
                        improved ? " (best)" : "");
    say(line);
    if (result.out_of_time) {
      // The checkpoint keeps the position, so --resume with a larger budget finishes this epoch.
      if (!o.checkpoint_path.empty()) {
        CheckpointState next = st;
        next.next_batch = stopped_at;
        write_checkpoint(o.checkpoint_path, named, rngs, best, ema, optimizer, next);
      }
      say_out_of_time();
      break;
    }
    result.epochs_done = st.epoch + 1;
    const bool stop_early = o.patience > 0 && st.bad_epochs >= o.patience && st.epoch + 1 < o.epochs;
    if (stop_early) {
      st.epoch = o.epochs;  // a resumed run has nothing left to do
      result.early_stopped = true;
      say(fmt::format("early stop: no better validation score for {} epochs", st.bad_epochs));
    }
    if (!o.checkpoint_path.empty()) {
      CheckpointState next = st;
      if (!stop_early) ++next.epoch;
      write_checkpoint(o.checkpoint_path, named, rngs, best, ema, optimizer, next);
    }
    if (stop_early) break;
    if (interrupt_requested()) {
      stop_for_interrupt(false);
      break;
    }
  }
  if (!best.empty()) copy_into(named, best);
  else if (!ema.empty()) copy_into(named, ema);
  result.steps = st.steps;
  result.best_score = st.best_score;
  result.best_epoch = st.best_epoch;
  result.seconds = seconds_since(t0);
  model.eval();
  return result;
}

std::string checkpoint_path_for(const std::string& output_dir) {
  std::filesystem::path p = std::filesystem::path(output_dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.string() + ".checkpoint";
}

std::string digest(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

}  // namespace attn::train
