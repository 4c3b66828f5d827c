#include "data/line_reader.h"

#include <fcntl.h>
#include <poll.h>
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

bool is_gzip_magic(const char* p) {
  return static_cast<unsigned char>(p[0]) == 0x1F && static_cast<unsigned char>(p[1]) == 0x8B;
}

}  // namespace

// zlib's inflate over the raw bytes (gzread would block until a whole buffer is filled, which stalls pipes).
struct LineReader::Gzip {
  explicit Gzip(const std::string& name) {
    ATTN_CHECK(inflateInit2(&z, 15 + 16) == Z_OK, "{}: cannot start gzip decompression", name);
  }
  ~Gzip() { inflateEnd(&z); }
  Gzip(const Gzip&) = delete;
  Gzip& operator=(const Gzip&) = delete;

  z_stream z{};
  std::string in;            // raw bytes; z.next_in points into it
  bool member_done = false;  // a gzip member ended: another may follow (concatenated files)
  bool finished = false;
};

LineReader::LineReader(const std::string& path) : name_(path == "-" ? "<stdin>" : path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    return;
  }
  std::error_code ec;
  ATTN_CHECK(std::filesystem::exists(path, ec), "{}: no such file", path);
  ATTN_CHECK(!std::filesystem::is_directory(path, ec), "{}: is a directory, not a file", path);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ATTN_CHECK(fd_ >= 0, "{}: cannot open ({})", name_, std::strerror(errno));
  own_fd_ = true;
}

LineReader::~LineReader() {
  if (own_fd_) ::close(fd_);
}

size_t LineReader::read_raw(char* out, size_t n) {
  if (on_wait_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) on_wait_();
  }
  for (;;) {
    const ssize_t got = ::read(fd_, out, n);
    if (got >= 0) return static_cast<size_t>(got);
    ATTN_CHECK(errno == EINTR, "{}: read error ({})", name_, std::strerror(errno));
  }
}

size_t LineReader::read_decoded(char* out, size_t n) {
  if (!sniffed_) {  // the very first read: is this gzip?
    sniffed_ = true;
    size_t got = read_raw(out, n);
    if (got == 1 && static_cast<unsigned char>(out[0]) == 0x1F) got += read_raw(out + 1, n - 1);
    if (got < 2 || !is_gzip_magic(out)) return got;
    gzip_ = std::make_unique<Gzip>(name_);
    gzip_->in.assign(out, got);
    gzip_->z.next_in = reinterpret_cast<Bytef*>(gzip_->in.data());
    gzip_->z.avail_in = static_cast<uInt>(got);
  }
  if (!gzip_) return read_raw(out, n);
  Gzip& g = *gzip_;
  for (;;) {
    if (g.finished) return 0;
    if (g.z.avail_in == 0) {
      g.in.resize(kChunk);
      const size_t got = read_raw(g.in.data(), g.in.size());
      if (got == 0) {
        ATTN_CHECK(g.member_done, "{}: the gzip data is truncated", name_);
        g.finished = true;
        return 0;
      }
      g.z.next_in = reinterpret_cast<Bytef*>(g.in.data());
      g.z.avail_in = static_cast<uInt>(got);
    }
    if (g.member_done) {
      // Another member follows; anything else after the end is ignored, as gzip itself does.
      if (g.z.next_in[0] != 0x1F) {
        g.finished = true;
        return 0;
      }
      inflateReset(&g.z);
      g.member_done = false;
    }
    g.z.next_out = reinterpret_cast<Bytef*>(out);
    g.z.avail_out = static_cast<uInt>(n);
    const int rc = inflate(&g.z, Z_NO_FLUSH);
    ATTN_CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR, "{}: corrupt gzip data ({})", name_,
               g.z.msg ? g.z.msg : zError(rc));
    g.member_done = rc == Z_STREAM_END;
    const size_t produced = n - g.z.avail_out;
    if (produced > 0) return produced;
  }
}

// Appends what the input has (at least one byte, up to a chunk) to buf_, dropping the consumed part first;
// false once the input is exhausted.
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
  const size_t got = read_decoded(buf_.data() + old, kChunk);
  buf_.resize(old + got);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  if (!started_) {  // buf_ holds the input's first bytes
    const auto* b = reinterpret_cast<const unsigned char*>(buf_.data());
    const size_t n = buf_.size();
    // A pipe may deliver a byte-order mark in parts: wait for the rest before deciding.
    if ((n == 1 && (b[0] == 0xEF || b[0] == 0xFF || b[0] == 0xFE)) || (n == 2 && b[0] == 0xEF && b[1] == 0xBB))
      return true;
    started_ = true;
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
