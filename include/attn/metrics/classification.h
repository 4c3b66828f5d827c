// Single-label classification metrics with scikit-learn's conventions (precision or recall of a class with no
// predicted / true examples is 0), as JSON for machines and as a table with a confusion matrix for people.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace attn::metrics {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // true examples of the class
};

struct ClassificationReport {
  int64_t count = 0;
  double accuracy = 0;
  // Macro: the unweighted mean over the classes that occur in truth or predictions (scikit-learn's default
  // label set), so a class absent from a test set does not count as a 0.
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;           // all equal to accuracy for single-label data
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;  // means weighted by support
  std::vector<ClassMetrics> per_class;                                  // num_classes entries
  std::vector<std::vector<int64_t>> confusion;                          // confusion[truth][predicted]
};

// Labels in [0, num_classes). With no examples every figure is 0.
ClassificationReport classification_report(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                                           int32_t num_classes);

// {"accuracy", "count", "macro_f1", "macro_precision", "macro_recall", "micro_*", "weighted_*",
//  "per_class": {name: {"precision", "recall", "f1", "support"}}, "confusion": [[...]], "labels": [names]}.
nlohmann::json to_json(const ClassificationReport& report, const std::vector<std::string>& class_names);

// scikit-learn's classification_report table (4 decimals) followed by the confusion matrix with label names
// (left out above 20 classes); columns aligned by display width, so CJK names line up.
std::string format_report(const ClassificationReport& report, const std::vector<std::string>& class_names);

}  // namespace attn::metrics
