// Examples from a CSV (RFC 4180) or TSV table: finds the header and the label / text columns once, then turns
// each row into an example.
#pragma once
#include <fmt/format.h>

#include <deque>
#include <string>
#include <vector>

#include "attn/data/text_dataset.h"
#include "data/line_reader.h"

namespace attn::data::detail {

class TableReader {
 public:
  // Reads the first rows to settle the header and columns; throws for unknown or out-of-range columns.
  TableReader(LineReader& lines, char delimiter, const TextReadOptions& options, TextReadReport& report);
  bool next(TextExample& out);

 private:
  struct Row {
    std::vector<std::string> fields;
    int64_t line = 0;     // where the row starts
    std::string problem;  // why it cannot be used (invalid UTF-8), empty if fine
  };
  bool read_row(Row& row);
  bool read_csv_fields(Row& row);
  bool read_tsv_fields(Row& row);
  void settle_columns(const Row& first, const Row* second);
  bool known_name(const std::string& name) const;  // a header name we know, or one the user gave (normalized)
  int column_of(const std::string& spec, const char* role) const;
  std::string column_label(int column) const;  // "'title'" or "3", for messages
  std::string where(int64_t line) const { return fmt::format("{}:{}", lines_.name(), line); }

  LineReader& lines_;
  const char delimiter_;
  const TextReadOptions& options_;
  TextReadReport& report_;
  std::deque<Row> pending_;          // rows read ahead while settling the columns
  std::vector<std::string> header_;  // empty without a header
  size_t columns_ = 0;
  int64_t first_line_ = 0;  // the row that fixed the column count
  int label_ = -1;          // -1: no label column
  std::vector<int> text_;
};

}  // namespace attn::data::detail
