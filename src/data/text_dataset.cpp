#include "attn/data/text_dataset.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "attn/core/error.h"
#include "data/line_reader.h"
#include "data/reader_util.h"
#include "data/table_reader.h"
#include "io/json_text.h"

namespace attn::data {
namespace {

namespace fs = std::filesystem;
using detail::bad_row;
using detail::trim;

constexpr int kMaxJsonDepth = 64;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// By extension, looking through a ".gz"; Auto when the extension does not tell.
TextFormat format_from_name(const std::string& path) {
  std::string name = detail::normalize_name(path);
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  if (ends_with(name, ".jsonl") || ends_with(name, ".json")) return TextFormat::Jsonl;
  if (ends_with(name, ".tsv")) return TextFormat::Tsv;
  if (ends_with(name, ".csv")) return TextFormat::Csv;
  return TextFormat::Auto;
}

// A JSON value as text: strings as they are, numbers and booleans as written, arrays joined with spaces (for a
// label only the first element counts), null as "".
std::string json_to_text(const nlohmann::json& v, bool first_only) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) {
      const std::string part = json_to_text(e, first_only);
      if (part.empty()) continue;
      if (first_only) return part;
      out += (out.empty() ? "" : " ") + part;
    }
    return out;
  }
  if (v.is_object()) return {};
  return v.dump();
}

// The object's keys, for messages.
std::string json_keys(const nlohmann::json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return detail::join_names(keys);
}

std::string read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ATTN_CHECK(f != nullptr, "{}: cannot open ({})", path, std::strerror(errno));
  std::string out;
  char chunk[1 << 16];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) out.append(chunk, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  ATTN_CHECK(!failed, "{}: read error", path);
  return out;
}

// <dir>/<label>/<file>: one example per file; labels and files in name order, hidden entries ignored. Files are
// read in parallel (small-file reads wait on the file system more than on the CPU); problems are then reported
// in file order, so the outcome does not depend on the thread count.
std::vector<TextExample> read_folder(const std::string& dir, const TextReadOptions& options, TextReadReport& report) {
  auto hidden = [](const fs::path& p) { return p.filename().string().starts_with('.'); };
  std::vector<fs::path> labels;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !hidden(entry.path())) labels.push_back(entry.path());
  }
  std::sort(labels.begin(), labels.end());
  ATTN_CHECK(!labels.empty(), "{}: no label folders in this directory (expected {}/<label>/<file>.txt)", dir, dir);

  std::vector<TextExample> files;  // text filled below
  for (const auto& label_dir : labels) {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(label_dir)) {
      if (entry.is_regular_file() && !hidden(entry.path())) paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    const std::string label(trim(label_dir.filename().string()));
    for (const auto& p : paths) files.push_back({{}, label, p.string()});
  }
  std::vector<std::string> errors(files.size()), problems(files.size());
  const auto n = static_cast<int64_t>(files.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    TextExample& e = files[static_cast<size_t>(i)];
    try {
      std::string text = read_whole_file(e.where);
      if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
      problems[static_cast<size_t>(i)] = detail::utf8_problem(text, e.where, "the file");
      e.text = trim(text);
    } catch (const Error& err) {
      errors[static_cast<size_t>(i)] = err.what();
    }
  }
  std::vector<TextExample> examples;
  examples.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (!errors[i].empty()) attn::detail::throw_error(errors[i]);
    if (!problems[i].empty()) {
      bad_row(options, report, fmt::format("{}: {}", files[i].where, problems[i]));
      continue;
    }
    examples.push_back(std::move(files[i]));
  }
  report.examples = examples.size();
  return examples;
}

}  // namespace

const char* text_format_name(TextFormat format) {
  switch (format) {
    case TextFormat::Auto:
      return "auto";
    case TextFormat::Csv:
      return "csv";
    case TextFormat::Tsv:
      return "tsv";
    case TextFormat::FastText:
      return "fasttext";
    case TextFormat::Jsonl:
      return "jsonl";
    case TextFormat::Folder:
      return "folder";
  }
  return "?";
}

TextFormat parse_text_format(const std::string& name) {
  for (auto f : {TextFormat::Auto, TextFormat::Csv, TextFormat::Tsv, TextFormat::FastText, TextFormat::Jsonl,
                 TextFormat::Folder}) {
    if (detail::normalize_name(name) == text_format_name(f)) return f;
  }
  attn::detail::throw_error(
      fmt::format("unknown text format '{}' (known: auto, csv, tsv, fasttext, jsonl, folder)", name));
}

struct TextExampleStream::Impl {
  Impl(const std::string& path, TextReadOptions opts) : options(std::move(opts)), lines(path) {
    lines.keep_blank_lines(options.keep_blank);
    format = options.format;
    ATTN_CHECK(format != TextFormat::Folder, "{}: a folder dataset cannot be streamed; read it whole", lines.name());
    if (format == TextFormat::Auto) format = path == "-" ? TextFormat::Auto : format_from_name(path);
    if (format == TextFormat::Auto) {
      std::string_view line;
      bool found = false;
      while (!found && lines.next(line)) {
        found = !detail::is_blank(line);
        if (!found) lines.passed_blank();
      }
      if (found) lines.unread();
      const bool prefixed =
          found && !options.label_prefix.empty() && trim(line).starts_with(std::string_view(options.label_prefix));
      format = prefixed ? TextFormat::FastText : TextFormat::Tsv;
    }
    if (format == TextFormat::Csv || format == TextFormat::Tsv) {
      table = std::make_unique<detail::TableReader>(lines, format == TextFormat::Csv ? ',' : '\t', options, report);
    }
    if (format == TextFormat::Jsonl) {
      // The defaults fall back on the usual names; keys the user chose are taken as given.
      if (!options.text_columns.empty()) {
        text_keys = options.text_columns;
      } else if (options.json_text_key == "text") {
        text_keys.assign(detail::kTextNames.begin(), detail::kTextNames.end());
      } else {
        text_keys = {options.json_text_key};
      }
      if (!options.label_column.empty()) {
        label_keys = {options.label_column};
      } else if (options.json_label_key == "label") {
        label_keys.assign(detail::kLabelNames.begin(), detail::kLabelNames.end());
      } else {
        label_keys = {options.json_label_key};
      }
    }
  }

  std::string where() const { return fmt::format("{}:{}", lines.name(), lines.line_number()); }

  // A non-blank line that is valid UTF-8, or false at the end.
  bool next_line(std::string_view& line) {
    while (lines.next(line)) {
      if (detail::is_blank(line)) {
        lines.passed_blank();
        continue;
      }
      const std::string problem = detail::utf8_problem(line, where());
      if (problem.empty()) return true;
      bad_row(options, report, fmt::format("{}: {}", where(), problem));
    }
    return false;
  }

  bool next_fasttext(TextExample& out) {
    std::string_view line;
    while (next_line(line)) {
      std::string_view rest = trim(line);
      out.label.clear();
      bool labelled = false;
      while (!options.label_prefix.empty() && rest.starts_with(std::string_view(options.label_prefix))) {
        size_t end = 0;
        while (end < rest.size() && !detail::is_space(rest[end])) ++end;
        if (!labelled) out.label = rest.substr(options.label_prefix.size(), end - options.label_prefix.size());
        labelled = true;  // further labels (multi-label data) are passed over
        rest = trim(rest.substr(end));
      }
      if (out.label.empty() && options.require_label) {
        bad_row(
            options, report,
            fmt::format("{}: {}", where(),
                        labelled ? "empty label"
                                 : fmt::format("no label (the line should start with '{}X')", options.label_prefix)));
        continue;
      }
      out.text = rest;
      out.where = where();
      out.line = lines.line_number();
      return true;
    }
    return false;
  }

  bool next_jsonl(TextExample& out) {
    std::string_view line;
    while (next_line(line)) {
      const std::string at = where();
      nlohmann::json j;
      try {
        j = io::detail::parse_json<nlohmann::json>(line, at, kMaxJsonDepth);
      } catch (const Error& e) {
        bad_row(options, report, e.what());
        continue;
      }
      if (!j.is_object()) {
        bad_row(options, report, fmt::format("{}: expected a JSON object per line, found {}", at, j.type_name()));
        continue;
      }
      out.text.clear();
      bool has_text = false;
      for (const auto& key : text_keys) {
        auto it = j.find(key);
        if (it == j.end()) continue;
        has_text = true;
        const std::string part(trim(json_to_text(*it, false)));
        if (!part.empty()) out.text += (out.text.empty() ? "" : " ") + part;
        if (options.text_columns.empty()) break;  // a fallback name: the first one present is the text
      }
      if (!has_text) {
        bad_row(options, report,
                fmt::format("{}: no text: none of the keys {} (the object has: {})", at, detail::join_names(text_keys),
                            json_keys(j)));
        continue;
      }
      out.label.clear();
      for (const auto& key : label_keys) {
        auto it = j.find(key);
        if (it == j.end()) continue;
        out.label = trim(json_to_text(*it, true));
        break;
      }
      if (out.label.empty() && options.require_label) {
        bad_row(options, report,
                fmt::format("{}: missing label (keys looked for: {}; the object has: {})", at,
                            detail::join_names(label_keys), json_keys(j)));
        continue;
      }
      out.where = at;
      out.line = lines.line_number();
      return true;
    }
    return false;
  }

  bool read(TextExample& out) {
    return table ? table->next(out) : format == TextFormat::FastText ? next_fasttext(out) : next_jsonl(out);
  }

  bool next(TextExample& out) {
    if (!options.keep_blank) {
      const bool got = read(out);
      if (got) ++report.examples;
      return got;
    }
    // The next record is read first: blank lines passed over before it come out ahead of it, in line order.
    if (!held && !ended) {
      held.emplace();
      if (!read(*held)) held.reset(), ended = true;
    }
    auto& blanks = lines.blank_lines();
    if (!blanks.empty() && (!held || blanks.front() < held->line)) {
      out = TextExample{"", "", fmt::format("{}:{}", lines.name(), blanks.front()), blanks.front()};
      blanks.pop_front();
      return true;
    }
    if (!held) return false;
    out = std::move(*held);
    held.reset();
    ++report.examples;
    return true;
  }

  std::optional<TextExample> held;  // keep_blank: the record read ahead of the blank lines before it
  bool ended = false;

  TextReadOptions options;
  TextFormat format;
  TextReadReport report;
  detail::LineReader lines;
  std::unique_ptr<detail::TableReader> table;
  std::vector<std::string> text_keys, label_keys;  // JSONL
};

TextExampleStream::TextExampleStream(const std::string& path, TextReadOptions options)
    : impl_(std::make_unique<Impl>(path, std::move(options))) {}
TextExampleStream::~TextExampleStream() = default;
TextExampleStream::TextExampleStream(TextExampleStream&&) noexcept = default;
TextExampleStream& TextExampleStream::operator=(TextExampleStream&&) noexcept = default;

bool TextExampleStream::next(TextExample& out) { return impl_->next(out); }
const TextReadReport& TextExampleStream::report() const { return impl_->report; }
TextFormat TextExampleStream::format() const { return impl_->format; }
void TextExampleStream::set_on_wait(std::function<void()> on_wait) { impl_->lines.set_on_wait(std::move(on_wait)); }

std::vector<TextExample> read_text_dataset(const std::string& path, const TextReadOptions& options,
                                           TextReadReport* report) {
  std::error_code ec;
  const bool is_dir = path != "-" && fs::is_directory(path, ec);
  std::vector<TextExample> examples;
  if (is_dir || options.format == TextFormat::Folder) {
    ATTN_CHECK(is_dir, "{}: not a directory (the folder format reads <dir>/<label>/<file>.txt)", path);
    ATTN_CHECK(options.format == TextFormat::Auto || options.format == TextFormat::Folder,
               "{}: is a directory, but the format is {}", path, text_format_name(options.format));
    TextReadReport local;
    examples = read_folder(path, options, local);
    if (report) *report = std::move(local);
    return examples;
  }
  TextExampleStream stream(path, options);
  TextExample e;
  while (stream.next(e)) examples.push_back(std::move(e));
  if (report) *report = stream.report();
  return examples;
}

}  // namespace attn::data
