// Lines of a file, gzip-compressed file or stdin, read in large chunks: a line is a view into the buffer, so a
// 10 MB line costs one pass, and a byte-order mark at the start is dropped.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace attn::data::detail {

class LineReader {
 public:
  explicit LineReader(const std::string& path);  // "-" = stdin; gzip is recognised by content
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its "\n" and a "\r" before it; valid until the next call. False at the end.
  bool next(std::string_view& line);
  void unread();                                     // the line next() just returned comes again
  int64_t line_number() const { return line_; }      // 1-based, of the line last returned
  const std::string& name() const { return name_; }  // "<stdin>" or the path

 private:
  bool fill();

  void* file_ = nullptr;  // gzFile, kept out of this header
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;         // start of the unread part of buf_
  size_t scanned_ = 0;     // buf_[pos_, scanned_) holds no '\n'
  size_t last_start_ = 0;  // where the line last returned began, for unread()
  int64_t line_ = 0;
  bool eof_ = false, started_ = false;
};

}  // namespace attn::data::detail
