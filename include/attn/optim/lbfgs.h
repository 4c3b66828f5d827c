// L-BFGS (Nocedal & Wright, algorithm 7.4) for smooth full-batch objectives over a vector of doubles, such as
// the convex loss of a linear model: no learning rate to tune, and the same steps on every run.
#pragma once
#include <functional>
#include <vector>

namespace attn::optim {

struct LbfgsOptions {
  int max_iterations = 100;
  int history = 10;                   // (s, y) pairs kept for the inverse-Hessian estimate
  double gradient_tolerance = 1e-6;   // stop when max |gradient| falls to this,
  double value_tolerance = 1e-10;     // or when the last `past` iterations together lowered the value by less
  int past = 5;                       // than value_tolerance * |value| (liblbfgs's delta test)
};

struct LbfgsResult {
  int iterations = 0;
  int evaluations = 0;  // calls of the objective (line-search trials included)
  double value = 0.0;
  bool converged = false;  // a tolerance was met (not max_iterations, nor a failed line search)
};

// value(x, gradient) returns f(x) and writes its gradient (already sized like x).
using Objective = std::function<double(const std::vector<double>& x, std::vector<double>& gradient)>;

// Minimises from x, leaving the best point found in x. on_iteration(iteration, value) follows each step (from 1).
// Backtracking line search with the Armijo condition; pairs without positive curvature are skipped.
LbfgsResult minimize_lbfgs(const Objective& value, std::vector<double>& x, const LbfgsOptions& options = {},
                           const std::function<void(int iteration, double value)>& on_iteration = {});

}  // namespace attn::optim
