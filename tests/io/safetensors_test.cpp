// safetensors reader/writer: bit-exact round trips, the byte layout the spec fixes, dtype conversions against
// formulas from the IEEE layouts, and a corruption suite in which every malformed file must throw attn::Error.
#include "attn/io/safetensors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "io/temp_dir.h"
#include "support/test_util.h"

namespace attn {
namespace {

using io::NamedTensors;
using testing::random_int;
using testing::TempDir;

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

// A file from a hand-written header (not padded, as some writers do) and data bytes.
std::string raw_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

::testing::AssertionResult throws_error(const std::function<void()>& f, const std::string& needle,
                                        const std::string& prefix = "") {
  try {
    f();
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.find(needle) == std::string::npos || what.rfind(prefix, 0) != 0) {
      return ::testing::AssertionFailure()
             << "message \"" << what << "\" lacks \"" << needle << "\" or prefix \"" << prefix << "\"";
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-attn exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw (expected \"" << needle << "\")";
}

::testing::AssertionResult same_bits(const NamedTensors& got, const NamedTensors& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " vs " << want.size() << " tensors";
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].first != want[i].first) {
      return ::testing::AssertionFailure()
             << "name [" << i << "] '" << got[i].first << "' vs '" << want[i].first << "'";
    }
    const Tensor& a = got[i].second;
    Tensor b = want[i].second.contiguous();
    if (a.shape() != b.shape()) {
      return ::testing::AssertionFailure()
             << got[i].first << ": shape " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
    }
    if (a.numel() > 0 && std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) != 0) {
      return ::testing::AssertionFailure() << got[i].first << ": values differ";
    }
  }
  return ::testing::AssertionSuccess();
}

// Random shapes of rank 0-4 (dims 0-7, so zero-size and odd sizes occur) with values that include NaNs with
// payloads, infinities, -0 and subnormals, which a bit-exact format must keep.
NamedTensors random_tensors(int count) {
  const float specials[] = {std::bit_cast<float>(0x7fc01234u),
                            std::bit_cast<float>(0xffa00001u),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            -0.0f,
                            std::numeric_limits<float>::denorm_min(),
                            3.4e38f};
  NamedTensors out;
  for (int i = 0; i < count; ++i) {
    Shape shape(static_cast<size_t>(random_int(0, 4)));
    for (auto& d : shape) d = random_int(0, 7);
    Tensor t = Tensor::from_vector(shape, testing::random_floats(shape_numel(shape), -1e3f, 1e3f));
    for (int64_t k = 0; k < t.numel(); ++k) {
      if (random_int(0, 9) == 0) t.data()[k] = specials[random_int(0, 6)];
    }
    out.emplace_back("layer" + std::to_string(i) + ".w", t);
  }
  return out;
}

TEST(Safetensors, RoundTripIsBitExact) {
  TempDir dir;
  for (int trial = 0; trial < 20; ++trial) {
    NamedTensors tensors = random_tensors(static_cast<int>(random_int(0, 6)));
    tensors.emplace_back("scalar", Tensor::full({}, -2.5f));
    tensors.emplace_back("empty", Tensor::zeros({3, 0, 2}));
    io::Metadata meta = {{"format", "pt"}, {"trial", std::to_string(trial)}, {"unicode ✓", "värde"}};
    std::string path = dir.file("t.safetensors");
    io::save_safetensors(path, tensors, meta);
    io::SafetensorsFile f = io::read_safetensors(path);
    ASSERT_TRUE(same_bits(f.tensors, tensors)) << "trial " << trial;
    EXPECT_EQ(f.metadata, meta);
    EXPECT_EQ(io::safetensors_metadata(path), meta);
    ASSERT_TRUE(same_bits(io::parse_safetensors(io::safetensors_bytes(tensors, meta)).tensors, tensors));
    EXPECT_EQ(io::read_file(path, 1 << 20), io::safetensors_bytes(tensors, meta));
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"t.safetensors"});
}

TEST(Safetensors, KeepsTheGivenOrderAndWritesViewsContiguous) {
  Tensor base = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  NamedTensors tensors = {{"zeta", base.transpose(0, 1)}, {"alpha", base.slice(1, 1, 3)}, {"mid", base}};
  io::SafetensorsFile f = io::parse_safetensors(io::safetensors_bytes(tensors));
  ASSERT_TRUE(same_bits(f.tensors, tensors));
  EXPECT_EQ(f.tensors[0].second.to_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(f.tensors[1].second.to_vector(), (std::vector<float>{2, 3, 5, 6}));
}

TEST(Safetensors, WritesTheLayoutTheSpecFixes) {
  NamedTensors tensors = {{"b", Tensor::from_vector({2}, {1, 2})}, {"a", Tensor::from_vector({1, 3}, {3, 4, 5})}};
  std::string bytes = io::safetensors_bytes(tensors, {{"k", "v"}});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u) << "header padded to 8 bytes so that the data is aligned";
  ASSERT_EQ(bytes.size(), 8 + n + 5 * sizeof(float));
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.find_last_not_of(' ') + 1 + (8 - (header.find_last_not_of(' ') + 1) % 8) % 8, n);
  auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["__metadata__"], nlohmann::json({{"k", "v"}}));
  EXPECT_EQ(j["b"], nlohmann::json({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}));
  EXPECT_EQ(j["a"], nlohmann::json({{"dtype", "F32"}, {"shape", {1, 3}}, {"data_offsets", {8, 20}}}));
  EXPECT_LT(header.find("\"b\""), header.find("\"a\"")) << "header keeps the given order";
  std::vector<float> data(5);
  std::memcpy(data.data(), bytes.data() + 8 + n, 20);
  EXPECT_EQ(data, (std::vector<float>{1, 2, 3, 4, 5}));
}

TEST(Safetensors, ReadsHandWrittenFilesInHeaderOrder) {
  // Data laid out in a different order than the header lists the tensors, no padding, metadata last.
  std::vector<float> data = {7, 8, 9, 1, 2};
  std::string header = R"({"first":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
                       R"("second":{"data_offsets":[0,12],"shape":[3,1],"dtype":"F32"},"__metadata__":{"a":"b"}})";
  io::SafetensorsFile f = io::parse_safetensors(raw_file(header, bytes_of(data)));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "first");
  EXPECT_EQ(f.tensors[0].second.to_vector(), (std::vector<float>{1, 2}));
  EXPECT_EQ(f.tensors[1].second.shape(), (Shape{3, 1}));
  EXPECT_EQ(f.tensors[1].second.to_vector(), (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(f.metadata, (io::Metadata{{"a", "b"}}));
  // A file with no tensors at all is valid.
  EXPECT_TRUE(io::parse_safetensors(raw_file("{}", "")).tensors.empty());
}

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. bfloat16: 1, 8 (bias 127), 7.
double half_reference(uint16_t h, int exp_bits, int mant_bits) {
  int bias = (1 << (exp_bits - 1)) - 1;
  int e = (h >> mant_bits) & ((1 << exp_bits) - 1);
  int m = h & ((1 << mant_bits) - 1);
  double sign = (h >> 15) ? -1.0 : 1.0;
  if (e == (1 << exp_bits) - 1) return m ? std::nan("") : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(m, 1 - bias - mant_bits);
  return sign * std::ldexp((1 << mant_bits) + m, e - bias - mant_bits);
}

void expect_all_16bit_patterns(const char* dtype, int exp_bits, int mant_bits) {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::string header = std::string(R"({"h":{"dtype":")") + dtype + R"(","shape":[256,256],"data_offsets":[0,131072]}})";
  Tensor t = io::parse_safetensors(raw_file(header, bytes_of(all))).tensors.at(0).second;
  ASSERT_EQ(t.shape(), (Shape{256, 256}));
  int bad = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    double want = half_reference(all[i], exp_bits, mant_bits);
    float got = t.data()[i];
    bool ok = std::isnan(want) ? std::isnan(got) : (got == want && std::signbit(got) == std::signbit(want));
    if (!ok && bad++ < 5) ADD_FAILURE() << dtype << " 0x" << std::hex << i << ": got " << got << " want " << want;
  }
  EXPECT_EQ(bad, 0);
}

TEST(Safetensors, ConvertsEveryF16Value) { expect_all_16bit_patterns("F16", 5, 10); }
TEST(Safetensors, ConvertsEveryBF16Value) { expect_all_16bit_patterns("BF16", 8, 7); }

TEST(Safetensors, ConvertsF64AndIntegers) {
  std::vector<double> d = {0.1, -1e300, 1e-300, -0.0, 3.0, 1.0 / 3.0, std::nan(""), -INFINITY};
  for (int i = 0; i < 50; ++i)
    d.push_back(std::ldexp(testing::random_floats(1)[0], static_cast<int>(random_int(-140, 140))));
  std::string header = R"({"d":{"dtype":"F64","shape":[)" + std::to_string(d.size()) + R"(],"data_offsets":[0,)" +
                       std::to_string(d.size() * 8) + "]}}";
  Tensor t = io::parse_safetensors(raw_file(header, bytes_of(d))).tensors.at(0).second;
  for (size_t i = 0; i < d.size(); ++i) {
    float want = static_cast<float>(d[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(t.data()[i]));
    } else {
      EXPECT_EQ(std::bit_cast<uint32_t>(t.data()[i]), std::bit_cast<uint32_t>(want)) << d[i];
    }
  }

  auto ints = [](const std::string& dtype, const std::string& data, size_t n) {
    std::string header = R"({"i":{"dtype":")" + dtype + R"(","shape":[)" + std::to_string(n) +
                         R"(],"data_offsets":[0,)" + std::to_string(data.size()) + "]}}";
    return io::parse_safetensors(raw_file(header, data), "ints").tensors.at(0).second.to_vector();
  };
  const float limit = 16777216.0f;
  EXPECT_EQ(ints("I64", bytes_of(std::vector<int64_t>{-16777216, 0, 7, 16777216}), 4),
            (std::vector<float>{-limit, 0, 7, limit}));
  EXPECT_EQ(ints("I32", bytes_of(std::vector<int32_t>{-5, 123456}), 2), (std::vector<float>{-5, 123456}));
  EXPECT_EQ(ints("I16", bytes_of(std::vector<int16_t>{-32768, 32767}), 2), (std::vector<float>{-32768, 32767}));
  EXPECT_EQ(ints("I8", bytes_of(std::vector<int8_t>{-128, 127, 0}), 3), (std::vector<float>{-128, 127, 0}));
  EXPECT_EQ(ints("U8", bytes_of(std::vector<uint8_t>{255, 1}), 2), (std::vector<float>{255, 1}));
  EXPECT_EQ(ints("U16", bytes_of(std::vector<uint16_t>{65535}), 1), (std::vector<float>{65535}));
  EXPECT_EQ(ints("U32", bytes_of(std::vector<uint32_t>{16777216}), 1), (std::vector<float>{limit}));
  EXPECT_EQ(ints("U64", bytes_of(std::vector<uint64_t>{3}), 1), (std::vector<float>{3}));
  EXPECT_EQ(ints("BOOL", bytes_of(std::vector<uint8_t>{0, 1, 2}), 3), (std::vector<float>{0, 1, 1}));
  EXPECT_TRUE(throws_error(
      [&] {
        ints("I64", bytes_of(std::vector<int64_t>{0, 16777217}), 2);
      },
      "ints: tensor 'i': I64 value 16777217 at index 1 cannot be held exactly in float32"));
  EXPECT_TRUE(throws_error([&] { ints("I32", bytes_of(std::vector<int32_t>{-16777217}), 1); }, "cannot be held"));
  EXPECT_TRUE(throws_error([&] { ints("U64", bytes_of(std::vector<uint64_t>{~0ull}), 1); }, "cannot be held"));
}

// One malformed file: a header (with 24 data bytes unless given) and the words the error must contain.
struct Malformed {
  const char* what;
  std::string header;
  std::string needle;
  size_t data_bytes = 24;
};

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Safetensors, RejectsEveryMalformedHeader) {
  const std::string x = R"("x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, const std::string& off) {
    return "\"" + name + R"(":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + off + "}";
  };
  const std::vector<Malformed> cases = {
      {"invalid JSON", R"({"x":)", "header is not valid JSON: parse error at line 1, column 6"},
      {"trailing garbage", "{" + x + "}x", "header is not valid JSON"},
      {"not an object", "[1, 2]", "header must be a JSON object, got [1,2]"},
      {"invalid UTF-8", "{\"x\xff\":{}}", "header is not valid JSON"},
      {"NUL in header", std::string("{}\0garbage", 10), "header is not valid JSON: NUL byte at offset 2"},
      {"entry not an object", R"({"x":5})", "tensor 'x': expected an object with dtype, shape and data_offsets, got 5"},
      {"no dtype", R"({"x":{"shape":[2,3],"data_offsets":[0,24]}})", "tensor 'x': no 'dtype'"},
      {"dtype not a string", "{" + entry("x", "4", "[2,3]", "[0,24]") + "}", "'dtype' must be a string, got 4"},
      {"unknown dtype", "{" + entry("x", "\"F33\"", "[2,3]", "[0,24]") + "}", "tensor 'x': unknown dtype \"F33\""},
      {"lower-case dtype", "{" + entry("x", "\"f32\"", "[2,3]", "[0,24]") + "}", "unknown dtype \"f32\""},
      {"unsupported dtype", "{" + entry("x", "\"F8_E4M3\"", "[24]", "[0,24]") + "}", "dtype F8_E4M3 is not supported"},
      {"no shape", R"({"x":{"dtype":"F32","data_offsets":[0,24]}})", "tensor 'x': no 'shape'"},
      {"shape not a list", "{" + entry("x", "\"F32\"", "6", "[0,24]") + "}",
       "'shape' must be a list of non-negative integers, got 6"},
      {"negative dims", "{" + entry("x", "\"F32\"", "[-2,-3]", "[0,24]") + "}", "'shape' must be a list"},
      {"fractional dim", "{" + entry("x", "\"F32\"", "[2.0,3]", "[0,24]") + "}", "'shape' must be a list"},
      {"string dim", "{" + entry("x", "\"F32\"", "[\"2\",3]", "[0,24]") + "}", "'shape' must be a list"},
      {"dim beyond int64", "{" + entry("x", "\"F32\"", "[18446744073709551615]", "[0,24]") + "}", "'shape' must be"},
      {"numel overflows", "{" + entry("x", "\"F32\"", "[4294967296,4294967296,16]", "[0,24]") + "}", "is too large"},
      {"bytes overflow", "{" + entry("x", "\"F64\"", "[4611686018427387904]", "[0,24]") + "}", "is too large"},
      {"no offsets", R"({"x":{"dtype":"F32","shape":[2,3]}})", "tensor 'x': no 'data_offsets'"},
      {"one offset", "{" + entry("x", "\"F32\"", "[2,3]", "[24]") + "}",
       "'data_offsets' must be [begin, end] with 0 <= begin <= end, got [24]"},
      {"three offsets", "{" + entry("x", "\"F32\"", "[2,3]", "[0,24,24]") + "}", "'data_offsets' must be [begin, end]"},
      {"offsets not a list", "{" + entry("x", "\"F32\"", "[2,3]", "\"0-24\"") + "}", "'data_offsets' must be"},
      {"begin after end", "{" + entry("x", "\"F32\"", "[2,3]", "[24,0]") + "}", "'data_offsets' must be"},
      {"negative offset", "{" + entry("x", "\"F32\"", "[2,3]", "[-1,23]") + "}", "'data_offsets' must be"},
      {"size mismatch", "{" + entry("x", "\"F32\"", "[2,3]", "[0,20]") + "}",
       "tensor 'x': shape [2, 3] of F32 needs 24 bytes but data_offsets [0,20] span 20", 20},
      {"past the buffer", "{" + x + "}",
       "tensor 'x': data_offsets [0,24] run past the end of the data buffer (16 bytes)", 16},
      {"far past the buffer", "{" + entry("x", "\"F32\"", "[2,3]", "[4294967296,4294967320]") + "}",
       "run past the end of the data buffer"},
      {"overlap", "{" + x + "," + entry("y", "\"F32\"", "[2]", "[16,24]") + "}",
       "tensors 'x' [0, 24] and 'y' [16, 24] overlap"},
      {"zero-size inside another", "{" + x + "," + entry("z", "\"F32\"", "[0]", "[8,8]") + "}", "overlap"},
      {"hole", "{" + entry("x", "\"F32\"", "[2]", "[0,8]") + "," + entry("y", "\"F32\"", "[2]", "[16,24]") + "}",
       "bytes [8, 16) of the data buffer belong to no tensor"},
      {"hole at the start", "{" + entry("x", "\"F32\"", "[4]", "[8,24]") + "}", "bytes [0, 8) of the data buffer"},
      {"trailing bytes", "{" + x + "}", "bytes [24, 32) of the data buffer belong to no tensor", 32},
      {"no tensors but data", "{}", "bytes [0, 24)"},
      {"duplicate name", "{" + x + "," + x + "}", "'x' appears twice in the header"},
      {"metadata not an object", "{" + x + R"(,"__metadata__":[1]})", "'__metadata__' must map strings to strings"},
      {"metadata value not a string", "{" + x + R"(,"__metadata__":{"a":1}})",
       "'__metadata__' must map strings to strings, but 'a' is 1"},
      {"deep nesting (would overflow the stack in nlohmann's dump)",
       std::string(1000000, '[') + std::string(1000000, ']'),
       "header is not valid JSON: nested more than 8 levels deep"},
      {"deep nesting in a shape",
       "{" + entry("x", "\"F32\"", std::string(100, '[') + std::string(100, ']'), "[0,24]") + "}",
       "nested more than 8 levels deep"},
      {"wide bad shape", "{" + entry("x", "\"F32\"", "[" + repeat("1,", 100) + "\"a\"]", "[0,24]") + "}",
       "'shape' must be a list of non-negative integers, got a list with 101 elements"},
      {"long bad value", "{" + entry("x", "\"F32\"", "[2,3]", "\"" + repeat("0", 1000) + "\"") + "}",
       "got \"" + repeat("0", 76) + "..."},
      {"integer out of float range", "{" + entry("x", "\"I32\"", "[6]", "[0,24]") + "}",
       "I32 value 2139062143 at index 0 cannot be held exactly"},
  };
  std::string data(32, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i < 24 ? 0x7f : 0);  // 0x7f7f7f7f: a float
  for (const Malformed& c : cases) {
    std::string file = raw_file(c.header, data.substr(0, c.data_bytes));
    EXPECT_TRUE(throws_error([&] { io::parse_safetensors(file, "bad.safetensors"); }, c.needle, "bad.safetensors: "))
        << c.what;
  }
  // The baseline the cases start from is valid.
  EXPECT_EQ(io::parse_safetensors(raw_file("{" + x + "}", data.substr(0, 24))).tensors.size(), 1u);
}

TEST(Safetensors, RejectsBadLengthPrefixes) {
  std::string good = io::safetensors_bytes({{"w", Tensor::full({3}, 1.0f)}});
  EXPECT_TRUE(throws_error([&] { io::parse_safetensors("", "f"); }, "f: 0 bytes is too short"));
  EXPECT_TRUE(throws_error([&] { io::parse_safetensors(good.substr(0, 7), "f"); }, "f: 7 bytes is too short"));
  std::string absurd = le64(100'000'001) + good.substr(8);
  EXPECT_TRUE(throws_error([&] { io::parse_safetensors(absurd, "f"); },
                           "f: header length 100000001 exceeds the limit of 100000000 bytes"));
  std::string huge = le64(~0ull) + good.substr(8);
  EXPECT_TRUE(throws_error([&] { io::parse_safetensors(huge, "f"); }, "exceeds the limit"));
  std::string beyond = le64(good.size()) + good.substr(8);
  EXPECT_TRUE(throws_error(
      [&] { io::parse_safetensors(beyond, "f"); },
      fmt::format("f: header length {} runs past the end of the file ({} bytes)", good.size(), good.size())));
}

std::string small_file() {
  return io::safetensors_bytes({{"a", Tensor::from_vector({2, 3}, testing::random_floats(6))},
                                {"scalar", Tensor::full({}, 4.0f)},
                                {"none", Tensor::zeros({0, 4})},
                                {"b", Tensor::from_vector({5}, testing::random_floats(5))}},
                               {{"format", "pt"}});
}

TEST(Safetensors, EveryTruncationThrows) {
  std::string file = small_file();
  ASSERT_NO_THROW(io::parse_safetensors(file));
  for (size_t n = 0; n < file.size(); ++n) {
    // A copy of exactly n bytes, so that AddressSanitizer catches any read past them.
    std::vector<char> prefix(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_TRUE(throws_error([&] { io::parse_safetensors(std::string_view(prefix.data(), n), "cut"); }, "", "cut: "))
        << "truncated to " << n << " of " << file.size() << " bytes";
  }
}

TEST(Safetensors, RandomByteFlipsThrowOrParse) {
  std::string file = small_file();
  std::mt19937 gen(1234);
  int thrown = 0;
  const int kTrials = 600;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::string bad = file;
    int flips = trial % 3 + 1;
    for (int f = 0; f < flips; ++f) {
      size_t pos = gen() % bad.size();
      bad[pos] = static_cast<char>(bad[pos] ^ static_cast<char>(1 + gen() % 255));
    }
    std::vector<char> copy(bad.begin(), bad.end());
    try {
      io::SafetensorsFile f = io::parse_safetensors(std::string_view(copy.data(), copy.size()), "flipped");
      for (auto& [name, t] : f.tensors) EXPECT_LE(static_cast<size_t>(t.numel()) * 4, copy.size()) << name;
    } catch (const Error& e) {
      ++thrown;
      EXPECT_EQ(std::string(e.what()).rfind("flipped: ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-attn exception: " << e.what();
    }
  }
  // Most flips land in the header or the length and must be caught; flips in the data just change values.
  EXPECT_GT(thrown, kTrials / 2);
}

TEST(Safetensors, FileErrorsNameThePath) {
  TempDir dir;
  std::string missing = dir.file("nope.safetensors");
  EXPECT_TRUE(throws_error([&] { io::load_safetensors(missing); }, "cannot open '" + missing + "': No such file"));
  EXPECT_TRUE(throws_error([&] { io::load_safetensors(dir.file("")); }, "is a directory"));
  std::string corrupt = dir.file("corrupt.safetensors");
  std::string bytes = small_file();
  io::write_file_atomic(corrupt, std::string_view(bytes).substr(0, bytes.size() - 3));
  EXPECT_TRUE(throws_error([&] { io::load_safetensors(corrupt); }, "run past the end", corrupt + ": "));
  EXPECT_TRUE(throws_error([&] { io::safetensors_metadata(corrupt); }, "run past the end", corrupt + ": "));
}

TEST(Safetensors, SaveRejectsBadInputAndLeavesNoFile) {
  TempDir dir;
  std::string path = dir.file("m.safetensors");
  Tensor t = Tensor::zeros({2});
  EXPECT_TRUE(throws_error(
      [&] {
        io::save_safetensors(path, {{"a", t}, {"a", t}});
      },
      "save_safetensors: tensor 'a' given twice"));
  EXPECT_TRUE(throws_error([&] { io::save_safetensors(path, {{"__metadata__", t}}); }, "'__metadata__' is reserved"));
  EXPECT_TRUE(throws_error([&] { io::save_safetensors(path, {{"u", Tensor()}}); }, "tensor 'u' is undefined"));
  EXPECT_TRUE(throws_error([&] { io::save_safetensors(path, {{"bad\xff", t}}); }, "is not valid UTF-8"));
  EXPECT_TRUE(throws_error(
      [&] {
        io::save_safetensors(path, {{"a", t}}, {{"k", "\xc3"}});
      },
      "metadata value '\xc3' is not valid UTF-8"));
  EXPECT_TRUE(dir.entries().empty());
  std::string nowhere = dir.file("missing/m.safetensors");
  EXPECT_TRUE(throws_error([&] { io::save_safetensors(nowhere, {{"a", t}}); }, "cannot write '" + nowhere + "'"));
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Safetensors, ReadsEveryCommittedFixture) {
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(ATTN_TEST_DATA_DIR) + "/fixtures")) {
    if (e.path().extension() != ".safetensors") continue;
    ++files;
    io::NamedTensors tensors;
    ASSERT_NO_THROW(tensors = io::load_safetensors(e.path().string())) << e.path();
    EXPECT_FALSE(tensors.empty()) << e.path();
  }
  EXPECT_GT(files, 0);
}

TEST(Safetensors, ToMapRejectsDuplicates) {
  Tensor t = Tensor::zeros({1});
  EXPECT_EQ(io::to_map({{"b", t}, {"a", t}}).size(), 2u);
  EXPECT_TRUE(throws_error([&] { io::to_map({{"a", t}, {"a", t}}); }, "to_map: tensor 'a' occurs twice"));
}

}  // namespace
}  // namespace attn
