#include "attn/optim/lbfgs.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"

namespace attn::optim {
namespace {

constexpr double kArmijo = 1e-4;
constexpr int kMaxBacktracks = 40;

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0.0;
  for (double v : a) m = std::max(m, std::fabs(v));
  return m;
}

}  // namespace

LbfgsResult minimize_lbfgs(const Objective& value, std::vector<double>& x, const LbfgsOptions& options,
                           const std::function<void(int, double)>& on_iteration) {
  ATTN_CHECK(options.max_iterations >= 0, "lbfgs: max_iterations must be >= 0 (got {})", options.max_iterations);
  ATTN_CHECK(options.history >= 1, "lbfgs: history must be >= 1 (got {})", options.history);
  ATTN_CHECK(options.past >= 1, "lbfgs: past must be >= 1 (got {})", options.past);
  const size_t n = x.size();
  std::vector<double> g(n), x_new(n), g_new(n), d(n);
  LbfgsResult result;
  result.value = value(x, g);
  result.evaluations = 1;
  ATTN_CHECK(std::isfinite(result.value), "lbfgs: the objective is {} at the starting point", result.value);
  if (max_abs(g) <= options.gradient_tolerance) {
    result.converged = true;
    return result;
  }

  // Ring buffer of the last `history` pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k, with rho = 1 / (s . y).
  const int m = options.history;
  std::vector<std::vector<double>> s(m), y(m);
  std::vector<double> rho(m), alpha(m);
  int stored = 0, newest = -1;
  std::vector<double> values{result.value};  // the value after each iteration, for the delta test

  for (int it = 1; it <= options.max_iterations; ++it) {
    // d = -H g by the two-loop recursion, H0 = (s . y / y . y) I.
    for (size_t i = 0; i < n; ++i) d[i] = -g[i];
    for (int k = 0; k < stored; ++k) {
      const int j = (newest - k + m) % m;
      alpha[j] = rho[j] * dot(s[j], d);
      for (size_t i = 0; i < n; ++i) d[i] -= alpha[j] * y[j][i];
    }
    if (stored > 0) {
      const double gamma = 1.0 / (rho[newest] * dot(y[newest], y[newest]));
      for (double& v : d) v *= gamma;
    } else {
      const double scale = 1.0 / std::sqrt(dot(g, g));  // a first step of unit length
      for (double& v : d) v *= scale;
    }
    for (int k = stored - 1; k >= 0; --k) {
      const int j = (newest - k + m) % m;
      const double beta = rho[j] * dot(y[j], d);
      for (size_t i = 0; i < n; ++i) d[i] += (alpha[j] - beta) * s[j][i];
    }
    double slope = dot(d, g);
    if (!(slope < 0.0)) {  // not a descent direction (round-off): restart from steepest descent
      stored = 0;
      const double scale = 1.0 / std::sqrt(dot(g, g));
      for (size_t i = 0; i < n; ++i) d[i] = -g[i] * scale;
      slope = dot(d, g);
    }

    // Backtracking: the minimum of the quadratic through f(0), f'(0) and f(step), kept within [0.1, 0.5] step.
    double step = 1.0, f_new = 0.0;
    bool accepted = false;
    for (int b = 0; b < kMaxBacktracks; ++b) {
      for (size_t i = 0; i < n; ++i) x_new[i] = x[i] + step * d[i];
      f_new = value(x_new, g_new);
      ++result.evaluations;
      if (std::isfinite(f_new) && f_new <= result.value + kArmijo * step * slope) {
        accepted = true;
        break;
      }
      const double q = std::isfinite(f_new) ? -slope * step * step / (2.0 * (f_new - result.value - slope * step))
                                            : 0.1 * step;
      step = std::clamp(q, 0.1 * step, 0.5 * step);
    }
    if (!accepted) break;  // no decrease left to find at this precision

    double sy = 0.0, yy = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double dy = g_new[i] - g[i];
      sy += (x_new[i] - x[i]) * dy;
      yy += dy * dy;
    }
    if (sy > 1e-12 * yy) {
      const int slot = (newest + 1) % m;
      s[slot].resize(n);
      y[slot].resize(n);
      for (size_t i = 0; i < n; ++i) {
        s[slot][i] = x_new[i] - x[i];
        y[slot][i] = g_new[i] - g[i];
      }
      rho[slot] = 1.0 / sy;
      newest = slot;
      stored = std::min(stored + 1, m);
    }

    x.swap(x_new);
    g.swap(g_new);
    result.value = f_new;
    result.iterations = it;
    if (on_iteration) on_iteration(it, f_new);
    values.push_back(f_new);
    const bool flat = it >= options.past &&
                      values[it - options.past] - f_new <= options.value_tolerance * std::max(std::fabs(f_new), 1e-300);
    if (max_abs(g) <= options.gradient_tolerance || flat) {
      result.converged = true;
      break;
    }
  }
  return result;
}

}  // namespace attn::optim
