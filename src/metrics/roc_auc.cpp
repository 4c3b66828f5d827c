#include "attn/metrics/roc_auc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "attn/core/error.h"

namespace attn::metrics {

double roc_auc(const std::vector<int32_t>& truth01, const std::vector<double>& scores) {
  ATTN_CHECK(truth01.size() == scores.size(), "roc_auc: {} labels but {} scores", truth01.size(), scores.size());
  const size_t n = scores.size();
  int64_t positives = 0;
  for (size_t i = 0; i < n; ++i) {
    ATTN_CHECK(truth01[i] == 0 || truth01[i] == 1, "roc_auc: label {} of example {} is not 0 or 1", truth01[i], i);
    ATTN_CHECK(!std::isnan(scores[i]), "roc_auc: score of example {} is NaN", i);
    positives += truth01[i];
  }
  const int64_t negatives = static_cast<int64_t>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' 1-based ranks, a run of tied scores sharing its average rank.
  double rank_sum = 0;
  for (size_t lo = 0; lo < n;) {
    size_t hi = lo;
    int64_t run_positives = 0;
    while (hi < n && scores[order[hi]] == scores[order[lo]]) run_positives += truth01[order[hi++]];
    rank_sum += static_cast<double>(run_positives) * (static_cast<double>(lo + 1 + hi) / 2.0);
    lo = hi;
  }
  const auto p = static_cast<double>(positives);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

}  // namespace attn::metrics
