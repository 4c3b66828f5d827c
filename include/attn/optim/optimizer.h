// Optimizer: the base of SGD, Adam and AdamW. It holds the parameters (autograd leaves, e.g. Module::parameters()
// or named_parameters()), applies one update per step() to those that have a gradient, and exports its state as
// named tensors for checkpoints, so a resumed run continues exactly where it stopped.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "attn/autograd/var.h"
#include "attn/core/tensor.h"

namespace attn::optim {

using autograd::Var;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The parameters an optimizer updates, with the names its state is saved under: the dotted names of
// Module::named_parameters(), or "0", "1", ... for a plain list.
struct ParamList {
  ParamList(std::vector<Var> params);  // NOLINT(google-explicit-constructor): a list converts implicitly
  ParamList(std::initializer_list<Var> params);
  ParamList(const std::vector<std::pair<std::string, Var>>& named);  // NOLINT
  std::vector<Var> vars;
  std::vector<std::string> names;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient; parameters without one are skipped and keep their state
  // (their own step count does not advance, as in PyTorch). Everything is checked before anything changes.
  void step();
  // Drops every parameter's gradient (Var::zero_grad, like Module::zero_grad).
  void zero_grad();

  float lr() const { return lr_; }
  void set_lr(float lr);  // e.g. from a Schedule before each step(); must be finite and >= 0

  const char* name() const { return name_; }
  const std::vector<Var>& params() const { return params_; }
  const std::vector<std::string>& param_names() const { return names_; }
  // The optimizer's per-parameter buffers ("momentum_buffer", "exp_avg", ...), each shaped like its parameter.
  const std::vector<std::string>& slot_names() const { return slot_names_; }

  // For every parameter updated at least once: "<param>.step" (shape [], its update count) and "<param>.<slot>"
  // for each slot. The tensors share storage with the optimizer: write them out before the next step().
  NamedTensors state() const;
  // Replaces the whole state with `state` in the form state() writes (copied in; parameters it does not mention
  // start afresh). Throws attn::Error naming the optimizer and the tensor for an unknown or repeated name, a wrong
  // shape, a step that is not a whole number >= 1, or a parameter with only some of its tensors; on error the old
  // state is kept.
  void load_state(const NamedTensors& state);

 protected:
  Optimizer(const char* name, ParamList params, float lr, std::vector<std::string> slot_names);

  // Updates one parameter in place from its gradient (both contiguous, same shape). `slots` follow slot_names(),
  // shaped like the parameter and zeroed before its first update; `step` counts this parameter's updates,
  // this one included (1 on the first).
  virtual void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots, int64_t step) = 0;

 private:
  struct ParamState {
    int64_t step = 0;  // 0: never updated, no slots allocated
    std::vector<Tensor> slots;
  };

  const char* name_;
  std::vector<Var> params_;
  std::vector<std::string> names_;
  std::vector<std::string> slot_names_;
  std::vector<ParamState> states_;
  float lr_;
};

// Hyper-parameter checks shared by the optimizers: throws "<optimizer>: <what> <value> must be ..." otherwise.
void check_nonnegative(const char* optimizer, const char* what, float value);

}  // namespace attn::optim
