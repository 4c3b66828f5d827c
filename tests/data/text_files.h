// Writing small data files for the reader tests: plain, and gzip-compressed through zlib.
#pragma once
#include <zlib.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace attn::testing {

inline void write_text(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

inline void write_gz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())), static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

}  // namespace attn::testing
