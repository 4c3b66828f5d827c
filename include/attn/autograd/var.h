// Reverse-mode automatic differentiation over coarse ops. A Var holds a value and, once backward() has run, a
// gradient. Each op (autograd/ops/) computes its value with a kernel and records one backward closure, so a
// training step's graph is tens of nodes (a whole LSTM layer or a fused attention is one node).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::autograd {

struct PackedValue;  // see linear in ops/matmul.cpp

struct Node {
  Tensor value;
  Tensor grad;  // undefined until a gradient reaches this node
  bool requires_grad = false;
  const char* op = "leaf";
  std::vector<std::shared_ptr<Node>> inputs;
  // Reads this node's grad and accumulates into its inputs' grads (see accumulate_grad).
  std::function<void(Node&)> backward;
  // Inference only: `value` packed as a linear layer's weight, with the content it was packed from.
  std::shared_ptr<const PackedValue> packed;
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  int64_t size(int64_t d) const { return node_->value.size(d); }
  int64_t numel() const { return node_->value.numel(); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  const char* op() const { return node_->op; }
  // The accumulated gradient; undefined if none has reached this Var.
  const Tensor& grad() const { return node_->grad; }
  void zero_grad() { node_->grad = Tensor(); }

  // Back-propagates from this Var: a scalar (one element) gets gradient 1; otherwise pass the gradient.
  // Gradients add up in leaves across calls until zero_grad(); the graph behind this Var is freed.
  void backward();
  void backward(const Tensor& grad_output);

  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// While alive, ops record nothing (inference): no closures, no saved tensors.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

bool grad_enabled();

// For op implementations ---------------------------------------------------------------------------------------

// The result of `op`: records `inputs` and `backward` when grad mode is on and some input requires a gradient.
Var make_result(const char* op, Tensor value, const std::vector<Var>& inputs, std::function<void(Node&)> backward);

// Throws attn::Error naming the op and the shapes when an input has a zero-length dimension.
void check_nonempty(const char* op, const std::vector<Var>& inputs);

// Product of all dimensions but the last: the number of rows a [..., n] tensor has.
int64_t leading_rows(const Shape& shape);

// The node's gradient, handed over (the node's own is left undefined; its backward is the last to read it): an
// op whose backward passes it on unchanged (reshape, contiguous, add) gives an input the buffer instead of a copy.
Tensor take_grad(Node& node);

// node.grad += g (allocating it on first use). g must have node.value's shape. The rvalue form takes g's
// buffer over when nothing else shares it, saving a copy.
void accumulate_grad(Node& node, const Tensor& g);
void accumulate_grad(Node& node, Tensor&& g);

}  // namespace attn::autograd
