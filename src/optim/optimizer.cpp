#include "attn/optim/optimizer.h"

#include <cmath>
#include <map>
#include <set>

#include "attn/core/error.h"

namespace attn::optim {
namespace {

std::vector<std::string> index_names(size_t n) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) names.push_back(std::to_string(i));
  return names;
}

// Step counts travel as float32 tensors (as PyTorch keeps them); whole numbers are exact up to 2^24.
constexpr double kMaxExactStep = 16777216.0;

}  // namespace

ParamList::ParamList(std::vector<Var> params) : vars(std::move(params)), names(index_names(vars.size())) {}
ParamList::ParamList(std::initializer_list<Var> params) : ParamList(std::vector<Var>(params)) {}
ParamList::ParamList(const std::vector<std::pair<std::string, Var>>& named) {
  for (const auto& [name, v] : named) {
    names.push_back(name);
    vars.push_back(v);
  }
}

void check_nonnegative(const char* optimizer, const char* what, float value) {
  ATTN_CHECK(std::isfinite(value) && value >= 0.0f, "{}: {} {} must be finite and >= 0", optimizer, what, value);
}

Optimizer::Optimizer(const char* name, ParamList params, float lr, std::vector<std::string> slot_names)
    : name_(name),
      params_(std::move(params.vars)),
      names_(std::move(params.names)),
      slot_names_(std::move(slot_names)),
      states_(params_.size()),
      lr_(0.0f) {
  set_lr(lr);
  ATTN_CHECK(!params_.empty(), "{}: got an empty parameter list", name_);
  std::map<const autograd::Node*, size_t> seen_nodes;
  std::set<std::string> seen_names;
  for (size_t i = 0; i < params_.size(); ++i) {
    ATTN_CHECK(params_[i].defined(), "{}: parameter '{}' is an undefined Var", name_, names_[i]);
    ATTN_CHECK(seen_names.insert(names_[i]).second, "{}: two parameters are named '{}'", name_, names_[i]);
    auto [it, fresh] = seen_nodes.emplace(params_[i].node().get(), i);
    ATTN_CHECK(fresh, "{}: parameter '{}' is the same Var as '{}'", name_, names_[i], names_[it->second]);
  }
}

void Optimizer::set_lr(float lr) {
  check_nonnegative(name_, "learning rate", lr);
  lr_ = lr;
}

void Optimizer::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i].value();
    const Tensor& g = params_[i].grad();
    if (!g.defined()) continue;
    ATTN_CHECK(g.shape() == p.shape(), "{}: parameter '{}' of shape {} has a gradient of shape {}", name_, names_[i],
               shape_str(p.shape()), shape_str(g.shape()));
    ATTN_CHECK(p.is_contiguous(), "{}: parameter '{}' of shape {} is not contiguous (it is updated in place)", name_,
               names_[i], shape_str(p.shape()));
    for (size_t s = 0; s < states_[i].slots.size(); ++s) {
      ATTN_CHECK(states_[i].slots[s].shape() == p.shape(),
                 "{}: parameter '{}' now has shape {} but its {} has shape {}", name_, names_[i], shape_str(p.shape()),
                 slot_names_[s], shape_str(states_[i].slots[s].shape()));
    }
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& g = params_[i].grad();
    if (!g.defined()) continue;
    ParamState& st = states_[i];
    Tensor& p = params_[i].value();
    if (st.step == 0) {
      st.slots.clear();
      for (size_t s = 0; s < slot_names_.size(); ++s) st.slots.push_back(Tensor::zeros(p.shape()));
    }
    ++st.step;
    update(p, g.contiguous(), st.slots, st.step);
  }
}

void Optimizer::zero_grad() {
  for (Var& v : params_) v.zero_grad();
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamState& st = states_[i];
    if (st.step == 0) continue;
    out.emplace_back(names_[i] + ".step", Tensor::full({}, static_cast<float>(st.step)));
    for (size_t s = 0; s < slot_names_.size(); ++s) out.emplace_back(names_[i] + "." + slot_names_[s], st.slots[s]);
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& state) {
  // Every name state() could write -> (parameter, slot); slot -1 is the step.
  std::map<std::string, std::pair<size_t, int>> expected;
  for (size_t i = 0; i < params_.size(); ++i) {
    expected[names_[i] + ".step"] = {i, -1};
    for (size_t s = 0; s < slot_names_.size(); ++s) expected[names_[i] + "." + slot_names_[s]] = {i, int(s)};
  }
  std::string slot_list = "step";
  for (const std::string& s : slot_names_) slot_list += ", " + s;

  std::vector<ParamState> fresh(params_.size());
  std::vector<std::vector<bool>> have(params_.size(), std::vector<bool>(slot_names_.size(), false));
  std::vector<bool> have_step(params_.size(), false);
  for (const auto& [name, t] : state) {
    auto it = expected.find(name);
    ATTN_CHECK(it != expected.end(),
               "{}: load_state: unknown tensor '{}' (expected '<parameter>.<{}>' for one of the {} parameters)", name_,
               name, slot_list, params_.size());
    const auto [i, s] = it->second;
    ATTN_CHECK(t.defined(), "{}: load_state: tensor '{}' is undefined", name_, name);
    if (s < 0) {
      ATTN_CHECK(!have_step[i], "{}: load_state: tensor '{}' appears twice", name_, name);
      ATTN_CHECK(t.numel() == 1, "{}: load_state: '{}' must hold one number, got shape {}", name_, name,
                 shape_str(t.shape()));
      const double v = t.contiguous().data()[0];
      ATTN_CHECK(v >= 1.0 && v <= kMaxExactStep && v == std::floor(v),
                 "{}: load_state: '{}' = {} is not a step count (a whole number >= 1)", name_, name, v);
      have_step[i] = true;
      fresh[i].step = static_cast<int64_t>(v);
    } else {
      ATTN_CHECK(!have[i][size_t(s)], "{}: load_state: tensor '{}' appears twice", name_, name);
      const Shape& want = params_[i].shape();
      ATTN_CHECK(t.shape() == want, "{}: load_state: '{}' has shape {} but parameter '{}' has shape {}", name_, name,
                 shape_str(t.shape()), names_[i], shape_str(want));
      have[i][size_t(s)] = true;
    }
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    for (size_t s = 0; s < slot_names_.size(); ++s) {
      ATTN_CHECK(have[i][s] == have_step[i], "{}: load_state: parameter '{}' has {} but no {}", name_, names_[i],
                 have_step[i] ? names_[i] + ".step" : names_[i] + "." + slot_names_[s],
                 have_step[i] ? names_[i] + "." + slot_names_[s] : names_[i] + ".step");
    }
    if (have_step[i]) fresh[i].slots.resize(slot_names_.size());
  }
  for (const auto& [name, t] : state) {
    const auto [i, s] = expected.at(name);
    if (s >= 0) fresh[i].slots[size_t(s)] = t.clone();
  }
  states_ = std::move(fresh);
}

}  // namespace attn::optim
