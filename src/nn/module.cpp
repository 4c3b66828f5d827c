#include "attn/nn/module.h"

#include "attn/core/error.h"

namespace attn::nn {

Var Module::register_parameter(const std::string& name, Tensor value) {
  for (const auto& [n, v] : params_) ATTN_CHECK(n != name, "register_parameter: '{}' registered twice", name);
  Var v(std::move(value), /*requires_grad=*/true);
  params_.emplace_back(name, v);
  return v;
}

void Module::register_rng(const std::string& name, Rng& rng) {
  for (const auto& [n, r] : rngs_) ATTN_CHECK(n != name, "register_rng: '{}' registered twice", name);
  rngs_.emplace_back(name, &rng);
}

void Module::collect_rngs(const std::string& prefix, std::vector<std::pair<std::string, Rng*>>& out) const {
  for (const auto& [name, r] : rngs_) out.emplace_back(prefix + name, r);
  for (const auto& [name, child] : children_) child->collect_rngs(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Rng*>> Module::named_rngs() const {
  std::vector<std::pair<std::string, Rng*>> out;
  collect_rngs("", out);
  return out;
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const {
  for (const auto& [name, v] : params_) out.emplace_back(prefix + name, v);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Var>> out;
  collect("", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [name, v] : named_parameters()) out.push_back(v);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& [name, v] : named_parameters()) n += v.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, v] : named_parameters()) v.zero_grad();
}

}  // namespace attn::nn
