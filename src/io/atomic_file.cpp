#include "attn/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <streambuf>
#include <system_error>
#include <vector>

#include "attn/core/error.h"

namespace attn::io {
namespace {

std::string os_error(int err) { return std::generic_category().message(err); }

bool write_all(int fd, const char* p, size_t n, int& err) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// A buffered std::streambuf over a file descriptor that remembers errno, so the caller can both fsync the
// descriptor and report why a write failed (std::ofstream gives neither).
class FdStreambuf : public std::streambuf {
 public:
  explicit FdStreambuf(int fd) : fd_(fd), buf_(kBufferBytes) { setp(buf_.data(), buf_.data() + buf_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n < static_cast<std::streamsize>(buf_.size())) return std::streambuf::xsputn(s, n);
    // Large blocks (tensor data) go straight to the descriptor instead of through the buffer.
    if (!flush_buffer() || !write_all(fd_, s, static_cast<size_t>(n), error_)) return 0;
    return n;
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  static constexpr size_t kBufferBytes = size_t{1} << 16;
  bool flush_buffer() {
    if (error_ != 0) return false;
    size_t n = static_cast<size_t>(pptr() - pbase());
    if (n > 0 && !write_all(fd_, pbase(), n, error_)) return false;
    setp(buf_.data(), buf_.data() + buf_.size());
    return true;
  }

  int fd_;
  int error_ = 0;
  std::vector<char> buf_;
};

// Closes the descriptor and removes the temporary file unless the rename went through.
struct TempFile {
  std::string path;
  int fd = -1;
  bool renamed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed) ::unlink(path.c_str());
  }
};

std::atomic<uint64_t> g_temp_counter{0};

void fsync_directory_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the rename is done; only its durability across a power cut is unconfirmed
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory (EINVAL); anything else is a real I/O error.
  ATTN_CHECK(rc == 0 || err == EINVAL || err == EROFS, "cannot write '{}': fsync of directory '{}' failed: {}", path,
             dir.string(), os_error(err));
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  ATTN_CHECK(!path.empty(), "write_file_atomic: empty path");
  TempFile tmp;
  tmp.path = fmt::format("{}.tmp.{}.{}", path, ::getpid(), g_temp_counter.fetch_add(1));
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (tmp.fd < 0) {
    int err = errno;
    tmp.renamed = true;  // nothing was created, so nothing to remove (and never remove someone else's file)
    detail::throw_error(
        fmt::format("cannot write '{}': cannot create temporary file '{}': {}", path, tmp.path, os_error(err)));
  }
  struct stat old_stat;
  if (::stat(path.c_str(), &old_stat) == 0 && S_ISREG(old_stat.st_mode)) {
    (void)::fchmod(tmp.fd, old_stat.st_mode & 07777);  // best effort: the data matters more than the mode
  }

  {
    FdStreambuf buf(tmp.fd);
    std::ostream os(&buf);
    write(os);
    os.flush();
    if (!os) {
      int err = buf.error() != 0 ? buf.error() : EIO;
      detail::throw_error(fmt::format("cannot write '{}': writing '{}' failed: {}", path, tmp.path, os_error(err)));
    }
  }
  ATTN_CHECK(::fsync(tmp.fd) == 0, "cannot write '{}': fsync of '{}' failed: {}", path, tmp.path, os_error(errno));
  int rc = ::close(tmp.fd);
  tmp.fd = -1;
  ATTN_CHECK(rc == 0, "cannot write '{}': closing '{}' failed: {}", path, tmp.path, os_error(errno));
  ATTN_CHECK(::rename(tmp.path.c_str(), path.c_str()) == 0, "cannot write '{}': renaming '{}' over it failed: {}", path,
             tmp.path, os_error(errno));
  tmp.renamed = true;
  fsync_directory_of(path);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path,
                    [&](std::ostream& os) { os.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ATTN_CHECK(fd_ >= 0, "cannot open '{}': {}", path, os_error(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    int err = errno;
    ::close(fd_);
    detail::throw_error(fmt::format("cannot open '{}': {}", path, os_error(err)));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    detail::throw_error(fmt::format("cannot open '{}': it is a directory", path));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ReadOnlyFile::read_at(uint64_t offset, void* dst, uint64_t n) const {
  char* p = static_cast<char*>(dst);
  uint64_t done = 0;
  while (done < n) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n - done, uint64_t{1} << 30));
    ssize_t r = ::pread(fd_, p + done, chunk, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      detail::throw_error(fmt::format("cannot read '{}': {}", path_, os_error(errno)));
    }
    ATTN_CHECK(r > 0,
               "cannot read '{}': the file ends at byte {} but {} bytes at offset {} were expected (was it changed "
               "while being read?)",
               path_, offset + done, n, offset);
    done += static_cast<uint64_t>(r);
  }
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  ReadOnlyFile file(path);
  ATTN_CHECK(file.size() <= max_bytes, "cannot read '{}': it is {} bytes, more than the limit of {} bytes", path,
             file.size(), max_bytes);
  std::string bytes(static_cast<size_t>(file.size()), '\0');
  file.read_at(0, bytes.data(), bytes.size());
  return bytes;
}

}  // namespace attn::io
