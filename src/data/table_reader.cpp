#include "data/table_reader.h"

#include <cstring>

#include "attn/core/error.h"
#include "data/reader_util.h"

namespace attn::data::detail {
namespace {

// A TSV field wrapped in quotes with every inner quote doubled (as a CSV writer would emit it) loses them.
void unquote_tsv_field(std::string& f) {
  if (f.size() < 2 || f.front() != '"' || f.back() != '"') return;
  std::string out;
  out.reserve(f.size() - 2);
  for (size_t i = 1; i + 1 < f.size(); ++i) {
    if (f[i] == '"') {
      if (i + 2 >= f.size() || f[i + 1] != '"') return;  // a lone quote: the field was not quoted as a whole
      ++i;
    }
    out += f[i];
  }
  f = std::move(out);
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_space(std::string_view s) { return std::any_of(s.begin(), s.end(), is_space); }

}  // namespace

TableReader::TableReader(LineReader& lines, char delimiter, const TextReadOptions& options, TextReadReport& report)
    : lines_(lines), delimiter_(delimiter), options_(options), report_(report) {
  Row first, second;
  for (;;) {  // the first usable row fixes the columns
    if (!read_row(first)) return;  // an empty file: no examples
    if (first.problem.empty()) break;
    bad_row(options_, report_, fmt::format("{}: {}", where(first.line), first.problem));
  }
  // Row 2 tells a header from data when row 1 holds column names. It is read ahead only then, so that
  // streamed text is not held back waiting for a second line.
  auto is_name = [&](const std::string& field) { return known_name(normalize_name(field)); };
  const bool look_ahead =
      !options_.header.has_value() && std::any_of(first.fields.begin(), first.fields.end(), is_name);
  const bool have_second = look_ahead && read_row(second);
  settle_columns(first, have_second ? &second : nullptr);
  if (header_.empty()) pending_.push_back(std::move(first));
  if (have_second) pending_.push_back(std::move(second));
}

bool TableReader::read_row(Row& row) {
  row.fields.clear();
  row.problem.clear();
  if (!(delimiter_ == ',' ? read_csv_fields(row) : read_tsv_fields(row))) return false;
  for (size_t c = 0; c < row.fields.size() && row.problem.empty(); ++c) {
    row.problem = utf8_problem(row.fields[c], where(row.line), fmt::format("column {}", c + 1));
  }
  return true;
}

bool TableReader::read_tsv_fields(Row& row) {
  std::string_view line;
  for (;;) {
    if (!lines_.next(line)) return false;
    if (!is_blank(line)) break;
    lines_.passed_blank();
  }
  row.line = lines_.line_number();
  for (;;) {
    const auto* tab = static_cast<const char*>(std::memchr(line.data(), '\t', line.size()));
    const size_t end = tab ? static_cast<size_t>(tab - line.data()) : line.size();
    row.fields.emplace_back(line.substr(0, end));
    unquote_tsv_field(row.fields.back());
    if (!tab) return true;
    line.remove_prefix(end + 1);
  }
}

// RFC 4180 plus what Python's csv module tolerates: a quote inside an unquoted field, or text after a closing
// quote, is kept as is. A quoted field runs over line ends; a CRLF inside one becomes "\n".
bool TableReader::read_csv_fields(Row& row) {
  std::string_view line;
  for (;;) {  // between records; inside a quoted field a blank line is text
    if (!lines_.next(line)) return false;
    if (!is_blank(line)) break;
    lines_.passed_blank();
  }
  row.line = lines_.line_number();
  enum class State { FieldStart, Unquoted, Quoted, AfterQuote } state = State::FieldStart;
  std::string field;
  int64_t quote_line = 0;
  for (;;) {
    size_t i = 0;
    while (i < line.size()) {
      switch (state) {
        case State::FieldStart:
          if (line[i] == '"') {
            state = State::Quoted;
            quote_line = lines_.line_number();
            ++i;
          } else {
            state = State::Unquoted;
          }
          break;
        case State::Unquoted:
        case State::AfterQuote: {
          if (state == State::AfterQuote && line[i] == '"') {  // "" inside a quoted field
            field += '"';
            state = State::Quoted;
            ++i;
            break;
          }
          const auto* comma = static_cast<const char*>(std::memchr(line.data() + i, ',', line.size() - i));
          const size_t end = comma ? static_cast<size_t>(comma - line.data()) : line.size();
          field.append(line.data() + i, end - i);
          i = end;
          if (comma) {
            row.fields.push_back(std::move(field));
            field.clear();
            state = State::FieldStart;
            ++i;
          } else {
            state = State::Unquoted;
          }
          break;
        }
        case State::Quoted: {
          const auto* quote = static_cast<const char*>(std::memchr(line.data() + i, '"', line.size() - i));
          const size_t end = quote ? static_cast<size_t>(quote - line.data()) : line.size();
          field.append(line.data() + i, end - i);
          i = end;
          if (quote) {
            state = State::AfterQuote;
            ++i;
          }
          break;
        }
      }
    }
    if (state != State::Quoted) break;
    if (!lines_.next(line)) {
      bad_row(options_, report_,
              fmt::format("{}: unterminated quoted field (the quote opened on this line is never closed)",
                          where(quote_line)));
      return false;  // the rest of the file is inside the quote
    }
    field += '\n';
  }
  row.fields.push_back(std::move(field));
  return true;
}

void TableReader::settle_columns(const Row& first, const Row* second) {
  const std::string at = where(first.line);
  columns_ = first.fields.size();
  first_line_ = first.line;
  std::vector<std::string> names;
  for (const auto& f : first.fields) names.push_back(normalize_name(f));

  bool named_by_user = false;  // a column given by name implies a header
  for (const auto& spec : options_.text_columns) named_by_user |= !all_digits(trim(spec));
  if (!options_.label_column.empty()) named_by_user |= !all_digits(trim(options_.label_column));

  bool header = options_.header.value_or(false);
  if (!options_.header.has_value()) {
    for (size_t c = 0; c < columns_ && !header; ++c) {
      const std::string& n = names[c];
      const bool repeated = second && c < second->fields.size() && normalize_name(second->fields[c]) == n;
      header = known_name(n) && !repeated;
    }
    header |= named_by_user;
  }
  if (header) {
    for (const auto& f : first.fields) header_.emplace_back(trim(f));
  }

  auto find_name = [&](std::string_view name) {
    for (size_t c = 0; c < names.size(); ++c) {
      if (names[c] == name) return static_cast<int>(c);
    }
    return -1;
  };
  if (!options_.label_column.empty()) {
    label_ = column_of(options_.label_column, "label");
  } else if (header) {
    for (auto name : kLabelNames) {
      if ((label_ = find_name(name)) >= 0) break;
    }
    ATTN_CHECK(label_ >= 0 || !options_.require_label,
               "{}: no label column among the header's columns ({}); name the label column", at, join_names(header_));
  } else if (columns_ == 2) {
    // The label is the field without spaces, else the shorter one: "0<TAB>a fine film" or "a fine film,pos".
    const auto& f = first.fields;
    const bool s0 = has_space(trim(f[0])), s1 = has_space(trim(f[1]));
    label_ = (s0 != s1) ? (s0 ? 1 : 0) : (trim(f[1]).size() < trim(f[0]).size() ? 1 : 0);
  } else if (columns_ > 2) {
    label_ = 0;
  } else {
    ATTN_CHECK(!options_.require_label, "{}: the file has a single column, so no label; expected a label and a text",
               at);
  }

  if (!options_.text_columns.empty()) {
    for (const auto& spec : options_.text_columns) text_.push_back(column_of(spec, "text"));
  } else {
    if (header) {
      for (auto name : kTextNames) {
        const int c = find_name(name);
        if (c >= 0 && c != label_) {
          text_.push_back(c);
          break;
        }
      }
    }
    if (text_.empty()) {  // every other column, so AG News keeps title and description
      for (size_t c = 0; c < columns_; ++c) {
        if (static_cast<int>(c) == label_ || (header && is_one_of(names[c], kIdNames))) continue;
        text_.push_back(static_cast<int>(c));
      }
    }
    ATTN_CHECK(!text_.empty(), "{}: no text column left beside the label{}", at,
               header ? fmt::format(" (the columns are: {})", join_names(header_)) : std::string());
  }
}

bool TableReader::known_name(const std::string& name) const {
  // "y" names a label column once a header is known, but as a value it is too common to reveal one.
  if ((is_one_of(name, kLabelNames) && name != "y") || is_one_of(name, kTextNames) || is_one_of(name, kIdNames))
    return true;
  if (!options_.label_column.empty() && normalize_name(options_.label_column) == name) return true;
  return std::any_of(options_.text_columns.begin(), options_.text_columns.end(),
                     [&](const auto& spec) { return normalize_name(spec) == name; });
}

int TableReader::column_of(const std::string& spec, const char* role) const {
  const std::string_view s = trim(spec);
  if (all_digits(s)) {
    const int k = std::stoi(std::string(s));
    ATTN_CHECK(k >= 1 && static_cast<size_t>(k) <= columns_,
               "{}: {} column {} is out of range: the file has {} column{}", where(first_line_), role, k, columns_,
               columns_ == 1 ? "" : "s");
    return k - 1;
  }
  ATTN_CHECK(!header_.empty(), "{}: {} column '{}' is given by name, but the file has no header row",
             where(first_line_), role, s);
  const std::string wanted = normalize_name(s);
  for (size_t c = 0; c < header_.size(); ++c) {
    if (normalize_name(header_[c]) == wanted) return static_cast<int>(c);
  }
  attn::detail::throw_error(fmt::format("{}: unknown {} column '{}' (the columns are: {})", where(first_line_), role, s,
                                        join_names(header_)));
}

std::string TableReader::column_label(int column) const {
  return header_.empty() ? std::to_string(column + 1) : "'" + header_[static_cast<size_t>(column)] + "'";
}

bool TableReader::next(TextExample& out) {
  Row row;
  for (;;) {
    if (!pending_.empty()) {
      row = std::move(pending_.front());
      pending_.pop_front();
    } else if (!read_row(row)) {
      return false;
    }
    const std::string at = where(row.line);
    if (!row.problem.empty()) {
      bad_row(options_, report_, fmt::format("{}: {}", at, row.problem));
      continue;
    }
    auto& f = row.fields;
    const int last = static_cast<int>(columns_) - 1;
    if (f.size() > columns_ && delimiter_ == '\t' && label_ != last &&
        std::find(text_.begin(), text_.end(), last) != text_.end()) {
      // Tabs inside the last (text) column of a TSV: keep them as part of the text.
      for (size_t c = columns_; c < f.size(); ++c) f[columns_ - 1] += '\t' + f[c];
      f.resize(columns_);
    }
    if (f.size() != columns_) {
      bad_row(options_, report_,
              fmt::format("{}: expected {} columns (as on line {}), found {}", at, columns_, first_line_, f.size()));
      continue;
    }
    out.label = label_ >= 0 ? std::string(trim(f[static_cast<size_t>(label_)])) : std::string();
    if (out.label.empty() && options_.require_label) {
      bad_row(options_, report_, fmt::format("{}: missing label (column {} is empty)", at, column_label(label_)));
      continue;
    }
    out.text.clear();
    for (int c : text_) {
      const std::string_view part = trim(f[static_cast<size_t>(c)]);
      if (part.empty()) continue;
      if (!out.text.empty()) out.text += ' ';
      out.text += part;
    }
    out.where = at;
    out.line = row.line;
    return true;
  }
}

}  // namespace attn::data::detail
