// Lines of a file, gzip-compressed file or stdin, read in large chunks: a line is a view into the buffer, so a
// 10 MB line costs one pass, and a byte-order mark at the start is dropped. A read returns what a pipe holds
// rather than waiting for a full chunk, so lines typed into stdin are seen as they arrive.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
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

  // Readers that pass over blank lines between records report them here; with keep_blank_lines(true) their line
  // numbers wait in blank_lines() for a caller that answers every input line.
  void keep_blank_lines(bool keep) { keep_blank_ = keep; }
  void passed_blank() {
    if (keep_blank_) blank_lines_.push_back(line_);
  }
  std::deque<int64_t>& blank_lines() { return blank_lines_; }

  // Called before a read that would block (a pipe or terminal with nothing to read yet), so that a consumer
  // can answer the lines it has before waiting for more.
  void set_on_wait(std::function<void()> on_wait) { on_wait_ = std::move(on_wait); }

 private:
  struct Gzip;
  bool fill();
  size_t read_raw(char* out, size_t n);      // 0 at the end of the input
  size_t read_decoded(char* out, size_t n);  // raw or inflated bytes; 0 at the end

  int fd_ = -1;
  bool own_fd_ = false;
  std::unique_ptr<Gzip> gzip_;  // set when the input is gzip-compressed
  std::function<void()> on_wait_;
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;         // start of the unread part of buf_
  size_t scanned_ = 0;     // buf_[pos_, scanned_) holds no '\n'
  size_t last_start_ = 0;  // where the line last returned began, for unread()
  int64_t line_ = 0;
  bool sniffed_ = false;  // the first bytes were looked at for gzip's magic number
  bool eof_ = false, started_ = false;
  bool keep_blank_ = false;
  std::deque<int64_t> blank_lines_;
};

}  // namespace attn::data::detail
