// write_directory_atomic: a model directory is replaced whole or not at all, and other directories are never
// deleted.
#include "attn/io/atomic_directory.h"

#include <gtest/gtest.h>

#include <fstream>

#include "attn/io/atomic_file.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn::io {
namespace {

using testing::expect_error;

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
std::string read(const fs::path& p) { return read_file(p.string(), 1 << 20); }

TEST(AtomicDirectory, CreatesAndReplacesAModelDirectory) {
  testing::TempDir tmp;
  const std::string dir = tmp.file("model");
  write_directory_atomic(dir, "config.json", [](const std::string& d) {
    write(fs::path(d) / "config.json", "1");
    write(fs::path(d) / "old_only.txt", "x");
  });
  EXPECT_EQ(read(fs::path(dir) / "config.json"), "1");
  write_directory_atomic(dir + "/", "config.json", [](const std::string& d) { write(fs::path(d) / "config.json", "2"); });
  EXPECT_EQ(read(fs::path(dir) / "config.json"), "2");
  EXPECT_FALSE(fs::exists(fs::path(dir) / "old_only.txt")) << "the new directory replaces the old one whole";
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"model"}) << "no staging or old directories left behind";
}

TEST(AtomicDirectory, AFailedWriteKeepsTheOldModel) {
  testing::TempDir tmp;
  const std::string dir = tmp.file("model");
  write_directory_atomic(dir, "config.json", [](const std::string& d) { write(fs::path(d) / "config.json", "old"); });
  EXPECT_THROW(write_directory_atomic(dir, "config.json",
                                      [](const std::string& d) {
                                        write(fs::path(d) / "config.json", "half");
                                        throw std::runtime_error("disk full");
                                      }),
               std::runtime_error);
  EXPECT_EQ(read(fs::path(dir) / "config.json"), "old");
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"model"});
}

TEST(AtomicDirectory, NeverDeletesADirectoryOfOtherFiles) {
  testing::TempDir tmp;
  const fs::path home = tmp.file("documents");
  fs::create_directory(home);
  write(home / "thesis.tex", "precious");
  expect_error([&] { write_directory_atomic(home.string(), "config.json", [](const std::string&) {}); },
               {"documents", "does not look like a model directory"});
  EXPECT_EQ(read(home / "thesis.tex"), "precious");
  write(tmp.file("plain"), "file");
  expect_error([&] { write_directory_atomic(tmp.file("plain"), "config.json", [](const std::string&) {}); },
               {"plain", "not a directory"});
  expect_error([&] { write_directory_atomic(tmp.file("no/such/parent/m"), "config.json", [](const std::string&) {}); },
               {"does not exist"});
}

}  // namespace
}  // namespace attn::io
