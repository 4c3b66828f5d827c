#include "attn/io/atomic_directory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "attn/core/error.h"

namespace attn::io {
namespace {

namespace fs = std::filesystem;

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

fs::path target_path(const std::string& dir) {
  ATTN_CHECK(!dir.empty(), "write_directory_atomic: empty directory name");
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "model/" -> "model"
  return target;
}

}  // namespace

void check_directory_target(const std::string& dir, const std::string& marker_file) {
  const fs::path target = target_path(dir);
  std::error_code ec;
  if (fs::exists(target, ec)) {
    ATTN_CHECK(fs::is_directory(target, ec), "{} exists and is not a directory; choose another output", dir);
    ATTN_CHECK(fs::is_empty(target, ec) || fs::exists(target / marker_file, ec),
               "{} exists and does not look like a model directory (no {}); choose another output, attn will not "
               "delete it",
               dir, marker_file);
  }
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  ATTN_CHECK(fs::is_directory(parent, ec), "cannot write {}: the directory {} does not exist", dir, parent.string());
}

std::string marker_path(const std::string& dir, const std::string& marker_file) {
  ATTN_CHECK(fs::is_directory(dir), "{}: no such model directory", dir);
  const std::string path = (fs::path(dir) / marker_file).string();
  ATTN_CHECK(fs::exists(path), "{}: not a model directory (no {})", dir, marker_file);
  return path;
}

void write_directory_atomic(const std::string& dir, const std::string& marker_file,
                            const std::function<void(const std::string&)>& fill) {
  check_directory_target(dir, marker_file);
  const fs::path target = target_path(dir);
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string suffix = fmt::format(".{}", ::getpid());  // not operator+: a GCC 12 -Wrestrict false alarm
  const fs::path staging = target.string() + ".tmp" + suffix;
  const fs::path old = target.string() + ".old" + suffix;
  remove_quietly(staging);
  fs::create_directory(staging, ec);
  ATTN_CHECK(!ec, "cannot create {}: {}", staging.string(), ec.message());
  try {
    fill(staging.string());
  } catch (...) {
    remove_quietly(staging);
    throw;
  }
  fsync_directory(staging);
  if (exists) {
    fs::rename(target, old, ec);
    if (ec) {
      remove_quietly(staging);
      ATTN_CHECK(false, "cannot replace {}: {}", dir, ec.message());
    }
  }
  fs::rename(staging, target, ec);
  if (ec) {
    std::error_code restore_ec;
    if (exists) fs::rename(old, target, restore_ec);  // put the old model back
    remove_quietly(staging);
    ATTN_CHECK(false, "cannot move the new model into {}: {}", dir, ec.message());
  }
  fsync_directory(parent);
  if (exists) remove_quietly(old);
}

}  // namespace attn::io
