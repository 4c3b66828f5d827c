// Module: a layer with named parameters and sub-modules, PyTorch-style. Names are dotted paths
// ("encoder.layers.0.self_attn.in_proj_weight") so that a PyTorch state_dict saved as safetensors maps onto
// attn's parameters one to one. Modules are built once and called many times; parameters are autograd leaves.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attn/autograd/var.h"

namespace attn {
class Rng;
}  // namespace attn

namespace attn::nn {

using autograd::Var;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its sub-modules, in registration order, with dotted names.
  std::vector<std::pair<std::string, Var>> named_parameters() const;
  std::vector<Var> parameters() const;
  int64_t parameter_count() const;

  // Training mode (dropout active) or evaluation mode, recursively.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  void zero_grad();

  // The random generators of this module and its sub-modules (dropout masks), with dotted names: a training
  // checkpoint saves their positions so that a resumed run draws what an uninterrupted one would.
  std::vector<std::pair<std::string, Rng*>> named_rngs() const;

 protected:
  // Registers a trainable tensor under `name`; returns the Var to keep in the module.
  Var register_parameter(const std::string& name, Tensor value);
  // Registers a generator the module owns (a member: it lives as long as the module).
  void register_rng(const std::string& name, Rng& rng);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const;
  void collect_rngs(const std::string& prefix, std::vector<std::pair<std::string, Rng*>>& out) const;

  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, Rng*>> rngs_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace attn::nn
