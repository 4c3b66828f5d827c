#include "attn/metrics/classification.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"

namespace attn::metrics {
namespace {

constexpr int32_t kMaxConfusionShown = 20;

double ratio(int64_t num, int64_t den) { return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0.0; }

// Columns a string takes in a terminal: code points, East Asian wide and fullwidth ones counting two.
size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

std::string pad_left(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

void check_names(const ClassificationReport& r, const std::vector<std::string>& names) {
  ATTN_CHECK(names.size() == r.per_class.size(), "classification report: {} class names for {} classes", names.size(),
             r.per_class.size());
}

}  // namespace

ClassificationReport classification_report(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                                           int32_t num_classes) {
  ATTN_CHECK(truth.size() == predicted.size(), "classification report: {} true labels but {} predictions", truth.size(),
             predicted.size());
  ATTN_CHECK(num_classes > 0, "classification report: num_classes must be positive (got {})", num_classes);
  const auto k = static_cast<size_t>(num_classes);
  ClassificationReport r;
  r.count = static_cast<int64_t>(truth.size());
  r.confusion.assign(k, std::vector<int64_t>(k, 0));
  for (size_t i = 0; i < truth.size(); ++i) {
    ATTN_CHECK(truth[i] >= 0 && truth[i] < num_classes && predicted[i] >= 0 && predicted[i] < num_classes,
               "classification report: example {} has true label {} and prediction {}, outside [0, {})", i, truth[i],
               predicted[i], num_classes);
    ++r.confusion[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
  }
  std::vector<int64_t> predicted_count(k, 0);
  for (size_t t = 0; t < k; ++t) {
    for (size_t p = 0; p < k; ++p) predicted_count[p] += r.confusion[t][p];
  }
  r.per_class.resize(k);
  int64_t correct = 0, present = 0;
  for (size_t c = 0; c < k; ++c) {
    ClassMetrics& m = r.per_class[c];
    const int64_t tp = r.confusion[c][c];
    for (int64_t v : r.confusion[c]) m.support += v;
    m.precision = ratio(tp, predicted_count[c]);
    m.recall = ratio(tp, m.support);
    m.f1 = ratio(2 * tp, predicted_count[c] + m.support);  // = 2PR / (P + R), and 0 when both are 0
    correct += tp;
    if (m.support == 0 && predicted_count[c] == 0) continue;  // not in the label set scikit-learn would use
    ++present;
    r.macro_precision += m.precision;
    r.macro_recall += m.recall;
    r.macro_f1 += m.f1;
    r.weighted_precision += m.precision * static_cast<double>(m.support);
    r.weighted_recall += m.recall * static_cast<double>(m.support);
    r.weighted_f1 += m.f1 * static_cast<double>(m.support);
  }
  if (present > 0) {
    r.macro_precision /= static_cast<double>(present);
    r.macro_recall /= static_cast<double>(present);
    r.macro_f1 /= static_cast<double>(present);
  }
  if (r.count > 0) {
    const auto n = static_cast<double>(r.count);
    r.weighted_precision /= n;
    r.weighted_recall /= n;
    r.weighted_f1 /= n;
  }
  r.accuracy = ratio(correct, r.count);
  r.micro_precision = r.micro_recall = r.micro_f1 = r.accuracy;
  return r;
}

nlohmann::json to_json(const ClassificationReport& r, const std::vector<std::string>& class_names) {
  check_names(r, class_names);
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t c = 0; c < r.per_class.size(); ++c) {
    const ClassMetrics& m = r.per_class[c];
    per_class[class_names[c]] = {
        {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support}};
  }
  return {{"count", r.count},
          {"accuracy", r.accuracy},
          {"macro_precision", r.macro_precision},
          {"macro_recall", r.macro_recall},
          {"macro_f1", r.macro_f1},
          {"micro_precision", r.micro_precision},
          {"micro_recall", r.micro_recall},
          {"micro_f1", r.micro_f1},
          {"weighted_precision", r.weighted_precision},
          {"weighted_recall", r.weighted_recall},
          {"weighted_f1", r.weighted_f1},
          {"per_class", std::move(per_class)},
          {"confusion", r.confusion},
          {"labels", class_names}};
}

std::string format_report(const ClassificationReport& r, const std::vector<std::string>& class_names) {
  check_names(r, class_names);
  size_t name_width = std::string_view("weighted avg").size();
  for (const auto& n : class_names) name_width = std::max(name_width, display_width(n));
  std::string out = fmt::format("{}  {:>9}  {:>9}  {:>9}  {:>9}\n\n", std::string(name_width, ' '), "precision",
                                "recall", "f1-score", "support");
  auto row = [&](const std::string& name, double p, double rc, double f, int64_t support) {
    out += fmt::format("{}  {:>9.4f}  {:>9.4f}  {:>9.4f}  {:>9}\n", pad_left(name, name_width), p, rc, f, support);
  };
  for (size_t c = 0; c < r.per_class.size(); ++c) {
    const ClassMetrics& m = r.per_class[c];
    row(class_names[c], m.precision, m.recall, m.f1, m.support);
  }
  out += fmt::format("\n{}  {:>9}  {:>9}  {:>9.4f}  {:>9}\n", pad_left("accuracy", name_width), "", "", r.accuracy,
                     r.count);
  row("macro avg", r.macro_precision, r.macro_recall, r.macro_f1, r.count);
  row("weighted avg", r.weighted_precision, r.weighted_recall, r.weighted_f1, r.count);

  const auto k = static_cast<int32_t>(r.per_class.size());
  if (k > kMaxConfusionShown) {
    out += fmt::format("\n(confusion matrix left out: {} classes; the JSON output has it)\n", k);
    return out;
  }
  out += "\nconfusion matrix (rows: true label, columns: predicted)\n";
  size_t row_width = 0;
  for (const auto& n : class_names) row_width = std::max(row_width, display_width(n));
  std::vector<size_t> widths(static_cast<size_t>(k));
  for (size_t p = 0; p < widths.size(); ++p) {
    widths[p] = display_width(class_names[p]);
    for (const auto& t : r.confusion) widths[p] = std::max(widths[p], std::to_string(t[p]).size());
  }
  out += std::string(row_width, ' ');
  for (size_t p = 0; p < widths.size(); ++p) out += "  " + pad_left(class_names[p], widths[p]);
  out += '\n';
  for (size_t t = 0; t < widths.size(); ++t) {
    out += pad_left(class_names[t], row_width);
    for (size_t p = 0; p < widths.size(); ++p) out += "  " + pad_left(std::to_string(r.confusion[t][p]), widths[p]);
    out += '\n';
  }
  return out;
}

}  // namespace attn::metrics
