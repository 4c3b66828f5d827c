// One text per line from a file (plain or gzip) or stdin, for tools that answer line by line (translate,
// summarize). Every line counts, blank ones too, so output line i always answers input line i.
#pragma once
#include <functional>
#include <memory>
#include <string>

namespace attn::data {

namespace detail {
class LineReader;
}

class LineStream {
 public:
  explicit LineStream(const std::string& path);  // "-" = stdin
  ~LineStream();
  LineStream(const LineStream&) = delete;
  LineStream& operator=(const LineStream&) = delete;

  // The next line (without "\n" / "\r\n"); false at the end. Invalid UTF-8 is an attn::Error with file:line.
  bool next(std::string& line);
  std::string where() const;  // "file:line" of the line last returned
  // Called before a read that would block (an interactive pipe), so the caller can answer what it has.
  void set_on_wait(std::function<void()> on_wait);

 private:
  std::unique_ptr<detail::LineReader> reader_;
};

}  // namespace attn::data
