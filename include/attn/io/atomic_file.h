// Files that are either entirely old or entirely new: writes go to a temporary file beside the target, which is
// fsynced and renamed over it, so a crash, a full disk or a throwing writer never leaves a half-written model.
// Also bounded whole-file reads and positioned reads, with errors that name the path and the OS reason.
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace attn::io {

// Replaces `path` with `bytes`. The data goes to "<path>.tmp.<pid>.<n>" in the same directory, is fsynced and
// renamed over `path`, then the directory is fsynced. On failure the temporary file is removed, `path` keeps its
// old contents, and attn::Error names the path and the OS error. An existing file's permission bits are kept.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Streaming form: `write` puts the contents into the stream (errors set the stream's badbit and are reported
// with the OS reason after `write` returns). An exception thrown by `write` removes the temporary file and
// propagates unchanged.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

// The whole file; throws attn::Error when it cannot be read or is larger than max_bytes.
std::string read_file(const std::string& path, uint64_t max_bytes);

// A file opened for positioned reads (for formats that read a header, then pieces at offsets).
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path);  // throws attn::Error naming the path and the OS error
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // at open time
  // Reads exactly n bytes at offset; throws if the file ends early or the read fails.
  void read_at(uint64_t offset, void* dst, uint64_t n) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace attn::io
