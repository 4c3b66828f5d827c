// Atomic writes: the target is always either the old or the new contents, failures (missing directory, a full
// "disk" via RLIMIT_FSIZE, a throwing writer, a directory in the way) leave no temporary file, and errors name
// the path and the OS reason. Also bounded reads.
#include "attn/io/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "attn/core/error.h"
#include "io/temp_dir.h"

namespace attn {
namespace {

using testing::TempDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no attn::Error)";
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + i / 251);
  return s;
}

TEST(AtomicFile, WritesAndReplaces) {
  TempDir dir;
  std::string path = dir.file("a.bin");
  io::write_file_atomic(path, "hello");
  EXPECT_EQ(io::read_file(path, 100), "hello");
  io::write_file_atomic(path, pattern(100000, 'x'));
  EXPECT_EQ(io::read_file(path, 100000), pattern(100000, 'x'));
  io::write_file_atomic(path, "");
  EXPECT_EQ(io::read_file(path, 0), "");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"a.bin"});
}

TEST(AtomicFile, StreamsSmallAndLargePieces) {
  TempDir dir;
  std::string path = dir.file("s.bin");
  std::string want;
  io::write_file_atomic(path, [&](std::ostream& os) {
    // Single characters, pieces just below and above the stream's buffer, and one of several megabytes.
    for (size_t n : {size_t{1}, size_t{3}, size_t{65535}, size_t{65536}, size_t{65537}, size_t{5} << 20, size_t{17}}) {
      std::string piece = pattern(n, static_cast<char>(n));
      if (n == 1) {
        os.put(piece[0]);
      } else {
        os.write(piece.data(), static_cast<std::streamsize>(n));
      }
      want += piece;
    }
    os << 12345;
    want += "12345";
  });
  EXPECT_EQ(io::read_file(path, want.size()), want);
}

TEST(AtomicFile, MissingDirectoryThrowsAndCreatesNothing) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/f.bin");
  std::string msg = error_of([&] { io::write_file_atomic(path, "x"); });
  EXPECT_EQ(msg.rfind("cannot write '" + path + "': cannot create temporary file", 0), 0u) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  EXPECT_TRUE(dir.entries().empty());
}

struct WriterFailed {};

TEST(AtomicFile, ThrowingWriterKeepsTheOldFile) {
  TempDir dir;
  std::string path = dir.file("keep.bin");
  io::write_file_atomic(path, "original");
  EXPECT_THROW(io::write_file_atomic(path,
                                     [&](std::ostream& os) {
                                       os << pattern(300000, 'q');  // some of it has reached the temporary file
                                       throw WriterFailed{};
                                     }),
               WriterFailed);
  EXPECT_EQ(io::read_file(path, 100), "original");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.bin"});
}

TEST(AtomicFile, WriteErrorKeepsTheOldFileAndNamesTheReason) {
  TempDir dir;
  std::string path = dir.file("full.bin");
  io::write_file_atomic(path, "original");
  // A file-size limit makes write() fail with EFBIG part way, like a full disk.
  rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 100000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string msg = error_of([&] { io::write_file_atomic(path, pattern(250000, 'z')); });
  std::string msg_stream = error_of([&] {
    io::write_file_atomic(path, [](std::ostream& os) {
      for (int i = 0; i < 20000; ++i) os << "line " << i << "\n";
    });
  });
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  for (const std::string& m : {msg, msg_stream}) {
    EXPECT_EQ(m.rfind("cannot write '" + path + "': writing '" + path + ".tmp.", 0), 0u) << m;
    EXPECT_NE(m.find("File too large"), std::string::npos) << m;
  }
  EXPECT_EQ(io::read_file(path, 100), "original");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"full.bin"});
}

TEST(AtomicFile, DirectoryInTheWayThrowsAndCleansUp) {
  TempDir dir;
  std::string path = dir.file("d");
  std::filesystem::create_directory(path);
  std::filesystem::create_directory(path + "/inner");  // a non-empty directory cannot be renamed over
  std::string msg = error_of([&] { io::write_file_atomic(path, "x"); });
  EXPECT_NE(msg.find("cannot write '" + path + "': renaming"), std::string::npos) << msg;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"d"});
}

TEST(AtomicFile, KeepsPermissionBits) {
  TempDir dir;
  std::string path = dir.file("p.bin");
  io::write_file_atomic(path, "1");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  io::write_file_atomic(path, "2");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(AtomicFile, ConcurrentWritersNeverMix) {
  TempDir dir;
  std::string path = dir.file("c.bin");
  std::vector<std::string> contents;
  for (int i = 0; i < 4; ++i) contents.push_back(pattern(200000 + i * 1000, static_cast<char>('a' + i)));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) io::write_file_atomic(path, contents[i]);
    });
  }
  for (auto& t : threads) t.join();
  std::string got = io::read_file(path, 1 << 20);
  EXPECT_NE(std::find(contents.begin(), contents.end(), got), contents.end());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.bin"});
}

TEST(AtomicFile, ReadErrorsNameThePath) {
  TempDir dir;
  std::string missing = dir.file("missing.txt");
  EXPECT_EQ(error_of([&] { io::read_file(missing, 10); }), "cannot open '" + missing + "': No such file or directory");
  EXPECT_EQ(error_of([&] { io::read_file(dir.file(""), 10); }),
            "cannot open '" + dir.file("") + "': it is a directory");
  std::string path = dir.file("big.txt");
  io::write_file_atomic(path, "0123456789");
  EXPECT_EQ(io::read_file(path, 10), "0123456789");
  EXPECT_EQ(error_of([&] { io::read_file(path, 9); }),
            "cannot read '" + path + "': it is 10 bytes, more than the limit of 9 bytes");
  io::ReadOnlyFile f(path);
  EXPECT_EQ(f.size(), 10u);
  char buf[8];
  f.read_at(6, buf, 4);
  EXPECT_EQ(std::string(buf, 4), "6789");
  EXPECT_NE(error_of([&] { f.read_at(8, buf, 4); }).find("the file ends at byte 10 but 4 bytes at offset 8"),
            std::string::npos);
}

}  // namespace
}  // namespace attn
