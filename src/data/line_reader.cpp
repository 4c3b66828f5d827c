#include "data/line_reader.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "attn/core/error.h"

namespace attn::data::detail {
namespace {

constexpr size_t kChunk = size_t{1} << 18;

gzFile gz(void* f) { return static_cast<gzFile>(f); }

}  // namespace

LineReader::LineReader(const std::string& path) : name_(path == "-" ? "<stdin>" : path) {
  if (path == "-") {
    const int fd = ::dup(STDIN_FILENO);
    ATTN_CHECK(fd >= 0, "<stdin>: cannot read ({})", std::strerror(errno));
    file_ = gzdopen(fd, "rb");
    if (!file_) ::close(fd);
  } else {
    std::error_code ec;
    ATTN_CHECK(std::filesystem::exists(path, ec), "{}: no such file", path);
    ATTN_CHECK(!std::filesystem::is_directory(path, ec), "{}: is a directory, not a file", path);
    file_ = gzopen(path.c_str(), "rb");
  }
  ATTN_CHECK(file_ != nullptr, "{}: cannot open ({})", name_, std::strerror(errno));
  gzbuffer(gz(file_), kChunk);
}

LineReader::~LineReader() {
  if (file_) gzclose(gz(file_));
}

// Appends one chunk to buf_ (dropping the consumed part first); false once the input is exhausted.
bool LineReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    scanned_ -= pos_;
    last_start_ = last_start_ >= pos_ ? last_start_ - pos_ : 0;
    pos_ = 0;
  }
  const size_t old = buf_.size();
  buf_.resize(old + kChunk);
  const int got = gzread(gz(file_), buf_.data() + old, static_cast<unsigned>(kChunk));
  int err = Z_OK;
  const char* msg = gzerror(gz(file_), &err);
  if (got < 0 || (err != Z_OK && err != Z_BUF_ERROR)) {
    attn::detail::throw_error(fmt::format("{}: read error ({})", name_, err == Z_ERRNO ? std::strerror(errno) : msg));
  }
  buf_.resize(old + static_cast<size_t>(got));
  if (got == 0) {
    // zlib reports a gzip stream cut short only as Z_BUF_ERROR once the input runs out.
    ATTN_CHECK(err != Z_BUF_ERROR, "{}: the gzip data is truncated ({})", name_, msg);
    eof_ = true;
    return false;
  }
  if (!started_) {  // the first chunk holds the file's first bytes unless the file is shorter
    started_ = true;
    const auto* b = reinterpret_cast<const unsigned char*>(buf_.data());
    const size_t n = buf_.size();
    ATTN_CHECK(!(n >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))),
               "{}: the text is UTF-16 (it starts with a UTF-16 byte-order mark); convert it to UTF-8", name_);
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) pos_ = scanned_ = 3;
  }
  return true;
}

bool LineReader::next(std::string_view& line) {
  for (;;) {
    const size_t from = std::max(pos_, scanned_);
    const void* nl = from < buf_.size() ? std::memchr(buf_.data() + from, '\n', buf_.size() - from) : nullptr;
    size_t end;
    if (nl) {
      end = static_cast<size_t>(static_cast<const char*>(nl) - buf_.data());
    } else {
      scanned_ = buf_.size();
      if (fill()) continue;
      if (pos_ >= buf_.size()) return false;
      end = buf_.size();  // the last line has no '\n'
    }
    last_start_ = pos_;
    size_t stop = end;
    if (stop > pos_ && buf_[stop - 1] == '\r') --stop;
    line = std::string_view(buf_.data() + pos_, stop - pos_);
    pos_ = scanned_ = end < buf_.size() ? end + 1 : end;
    ++line_;
    return true;
  }
}

void LineReader::unread() {
  pos_ = scanned_ = last_start_;
  --line_;
}

}  // namespace attn::data::detail
