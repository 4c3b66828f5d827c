// Readers for labelled text: CSV (RFC 4180), TSV, fastText (`__label__X text`), JSON Lines and a folder per
// label, plain or gzip-compressed, into (text, label) pairs. Errors name the user's file and line, because a
// bad row in a 100k-line file is otherwise impossible to find.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attn::data {

struct TextExample {
  std::string text;
  std::string label;  // empty when unlabeled
  std::string where;  // "file:line" (the record's first line), or the file's path for Folder, for messages
  int64_t line = 0;   // the record's first line (0 for Folder)
};

enum class TextFormat { Auto, Csv, Tsv, FastText, Jsonl, Folder };

// "csv", "tsv", "fasttext", "jsonl", "folder", "auto"; parse_text_format throws on anything else.
const char* text_format_name(TextFormat format);
TextFormat parse_text_format(const std::string& name);

struct TextReadOptions {
  // Auto: a directory -> Folder; by extension (after a ".gz"): .jsonl/.json -> Jsonl, .tsv -> Tsv, .csv -> Csv;
  // anything else (and stdin): FastText if the first non-empty line starts with label_prefix, else Tsv.
  TextFormat format = TextFormat::Auto;
  // A header name (case-insensitive) or a 1-based column number ("1"). Empty = by header name ("label",
  // "labels", "class", "category", "sentiment", "polarity", "y"); without a header, column 1 (for two columns,
  // the one that looks like a label: no spaces, shorter). For JSONL: the key (default json_label_key).
  std::string label_column;
  // Names or 1-based numbers; several are joined with one space. Empty = by header name ("text", "sentence",
  // "text_a", "review", "content", ...), else every other column except id-like ones ("id", "qid", ...), so
  // AG News' title + description are both kept. For JSONL: the keys (default json_text_key).
  std::vector<std::string> text_columns;
  // nullopt: a header is assumed when row 1 holds a known column name (or one named in label_column /
  // text_columns) and row 2 does not repeat it in that column.
  std::optional<bool> header;
  bool require_label = true;  // false for predict input: bare text lines, or tables without a label column
  bool skip_bad = false;      // rows with invalid UTF-8 / wrong shape / no label are skipped and counted
  // Streams only, for input that is answered line by line: a blank line between records is an example with empty
  // text and no label, in its place, instead of being skipped.
  bool keep_blank = false;
  std::string label_prefix = "__label__";
  std::string json_text_key = "text", json_label_key = "label";
};

struct TextReadReport {
  size_t examples = 0, skipped = 0;
  std::vector<std::string> first_problems;  // up to 5 "file:line: reason" of the skipped rows
};

// Reads a whole dataset; path "-" is stdin. Throws attn::Error "file:line: reason" for a missing file, invalid
// UTF-8, an unterminated quote, a wrong column count, a missing label (the last three unless skip_bad), an
// unknown column name (listing the header's columns) and NUL bytes (a binary file; always an error).
// Text and labels are trimmed of surrounding whitespace; blank lines are skipped.
std::vector<TextExample> read_text_dataset(const std::string& path, const TextReadOptions& options,
                                           TextReadReport* report = nullptr);

// One example at a time, for predicting over large files or stdin; every format but Folder. The constructor
// opens the file and settles the format, header and columns (so option errors surface at once).
class TextExampleStream {
 public:
  TextExampleStream(const std::string& path, TextReadOptions options);
  ~TextExampleStream();
  TextExampleStream(TextExampleStream&&) noexcept;
  TextExampleStream& operator=(TextExampleStream&&) noexcept;

  bool next(TextExample& out);  // false at the end of the input
  const TextReadReport& report() const;
  TextFormat format() const;  // as resolved from Auto
  // Called before the stream waits for more input (a pipe or terminal with nothing to read yet), so that the
  // consumer can act on the examples it has, e.g. print their predictions.
  void set_on_wait(std::function<void()> on_wait);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attn::data
