#include "attn/autograd/var.h"

#include <string_view>
#include <unordered_set>
#include <utility>

#include "attn/core/debug.h"
#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"

namespace attn::autograd {
namespace {

thread_local bool g_grad_enabled = true;

// Nodes that need a gradient, inputs before the ops that use them (iterative DFS: graphs can be deep).
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  seen.insert(root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* in = node->inputs[next++].get();
      if (in->requires_grad && seen.insert(in).second) stack.push_back({in, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Var make_result(const char* op, Tensor value, const std::vector<Var>& inputs, std::function<void(Node&)> backward) {
  check_finite(op, "output", value.data(), value.numel(), value.shape());
  auto node = std::make_shared<Node>();
  node->value = std::move(value);
  node->op = op;
  if (!g_grad_enabled) return Var(std::move(node));
  for (const Var& in : inputs) node->requires_grad |= in.requires_grad();
  if (node->requires_grad) {
    for (const Var& in : inputs) node->inputs.push_back(in.node());
    node->backward = std::move(backward);
  }
  return Var(std::move(node));
}

void check_nonempty(const char* op, const std::vector<Var>& inputs) {
  for (const Var& v : inputs) {
    if (!v.defined() || v.numel() > 0) continue;
    std::string shapes;
    for (const Var& w : inputs) shapes += (shapes.empty() ? "" : ", ") + (w.defined() ? shape_str(w.shape()) : "none");
    ATTN_CHECK(false, "{}: zero-length dimension in input shapes {}", op, shapes);
  }
}

int64_t leading_rows(const Shape& shape) {
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  return rows;
}

Tensor take_grad(Node& node) { return std::exchange(node.grad, Tensor()); }

void accumulate_grad(Node& node, const Tensor& g) {
  ATTN_CHECK(g.shape() == node.value.shape(), "{} backward: gradient of shape {} for a value of shape {}", node.op,
             shape_str(g.shape()), shape_str(node.value.shape()));
  if (!node.grad.defined()) {
    node.grad = g.clone();  // never alias: another input may receive the same tensor
    return;
  }
  Tensor gc = g.contiguous();
  kernels::axpy(gc.numel(), 1.0f, gc.data(), node.grad.data());
}

void accumulate_grad(Node& node, Tensor&& g) {
  if (!node.grad.defined() && g.is_contiguous() && g.unique_storage() && g.shape() == node.value.shape()) {
    node.grad = std::move(g);
    return;
  }
  accumulate_grad(node, static_cast<const Tensor&>(g));
}

void Var::backward() {
  ATTN_CHECK(numel() == 1, "backward: called without a gradient on a value of shape {} (only a scalar may omit it)",
             shape_str(shape()));
  backward(Tensor::full(shape(), 1.0f));
}

void Var::backward(const Tensor& grad_output) {
  ATTN_CHECK(node_ && node_->requires_grad, "backward: this value does not require a gradient (op '{}')",
             node_ ? node_->op : "none");
  ATTN_CHECK(node_->backward || (node_->inputs.empty() && std::string_view(node_->op) == "leaf"),
             "backward: the graph behind this '{}' value was freed by an earlier backward()", node_->op);
  std::vector<Node*> order = topological_order(node_.get());
  accumulate_grad(*node_, grad_output);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (n->backward && n->grad.defined()) {
      check_finite(n->op, "gradient", n->grad.data(), n->grad.numel(), n->grad.shape());
      n->backward(*n);
    }
  }
  // Free the graph: intermediate values' closures, saved tensors and gradients; leaves keep theirs.
  for (Node* n : order) {
    if (!n->backward) continue;
    n->backward = nullptr;
    n->inputs.clear();
    n->grad = Tensor();
  }
}

}  // namespace attn::autograd
