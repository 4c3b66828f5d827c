// Area under the ROC curve for binary scores: the chance that a random positive scores above a random
// negative, ties counting half (the Mann-Whitney statistic, via average ranks; O(n log n)).
#pragma once
#include <cstdint>
#include <vector>

namespace attn::metrics {

// truth01 holds 0 or 1; scores must not be NaN. NaN when truth01 lacks positives or negatives (AUC undefined).
double roc_auc(const std::vector<int32_t>& truth01, const std::vector<double>& scores);

}  // namespace attn::metrics
