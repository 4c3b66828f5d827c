#include "attn/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "io/json_text.h"

namespace attn::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; add byte swaps here");

namespace {

using Json = nlohmann::ordered_json;  // keeps the header's order, which is the order tensors are returned in

constexpr const char* kMetadataKey = "__metadata__";
constexpr int kMaxHeaderDepth = 8;                    // a valid header nests 3 deep: {name: {shape: [...]}}
constexpr int64_t kExactIntLimit = int64_t{1} << 24;  // float32 holds every integer up to this exactly

enum class Kind { kF32, kF64, kF16, kBF16, kSigned, kUnsigned, kBool, kUnsupported };

struct Dtype {
  const char* name;
  uint64_t bytes;
  Kind kind;
};

// Every dtype the format defines; the last ones are known but have no float32 conversion here.
constexpr Dtype kDtypes[] = {
    {"F32", 4, Kind::kF32},
    {"F64", 8, Kind::kF64},
    {"F16", 2, Kind::kF16},
    {"BF16", 2, Kind::kBF16},
    {"I8", 1, Kind::kSigned},
    {"I16", 2, Kind::kSigned},
    {"I32", 4, Kind::kSigned},
    {"I64", 8, Kind::kSigned},
    {"U8", 1, Kind::kUnsigned},
    {"U16", 2, Kind::kUnsigned},
    {"U32", 4, Kind::kUnsigned},
    {"U64", 8, Kind::kUnsigned},
    {"BOOL", 1, Kind::kBool},
    {"F8_E5M2", 1, Kind::kUnsupported},
    {"F8_E4M3", 1, Kind::kUnsupported},
    {"F8_E8M0", 1, Kind::kUnsupported},
    {"C64", 8, Kind::kUnsupported},
};

struct Entry {
  std::string name;
  const Dtype* dtype;
  Shape shape;
  uint64_t numel;
  uint64_t begin, end;  // relative to the start of the data buffer
};

struct Header {
  std::vector<Entry> entries;
  Metadata metadata;
};

// A JSON value for an error message, cut short so that a corrupt header cannot produce a megabyte of text.
std::string show(const Json& v) {
  if (v.is_structured() && v.size() > 16) {
    return fmt::format("{} with {} {}", v.is_array() ? "a list" : "an object", v.size(),
                       v.is_array() ? "elements" : "keys");
  }
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

bool as_u64(const Json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

Entry parse_entry(const std::string& label, const std::string& name, const Json& v, uint64_t buffer_bytes) {
  auto fail = [&](const std::string& what) {
    attn::detail::throw_error(fmt::format("{}: tensor '{}': {}", label, name, what));
  };
  if (!v.is_object()) fail("expected an object with dtype, shape and data_offsets, got " + show(v));
  Entry e{name, nullptr, {}, 1, 0, 0};

  auto dt = v.find("dtype");
  if (dt == v.end()) fail("no 'dtype'");
  if (!dt->is_string()) fail("'dtype' must be a string, got " + show(*dt));
  const std::string& dname = dt->get_ref<const std::string&>();
  for (const Dtype& d : kDtypes) {
    if (dname == d.name) e.dtype = &d;
  }
  if (e.dtype == nullptr) fail(fmt::format("unknown dtype {}", show(*dt)));
  if (e.dtype->kind == Kind::kUnsupported) {
    fail(fmt::format("dtype {} is not supported (attn reads F32, F64, F16, BF16, integers and BOOL)", dname));
  }

  auto sh = v.find("shape");
  if (sh == v.end()) fail("no 'shape'");
  if (!sh->is_array()) fail("'shape' must be a list of non-negative integers, got " + show(*sh));
  for (const Json& d : *sh) {
    uint64_t n;
    if (!as_u64(d, n) || n > uint64_t(INT64_MAX)) {
      fail("'shape' must be a list of non-negative integers, got " + show(*sh));
    }
    if (__builtin_mul_overflow(e.numel, n, &e.numel)) fail("'shape' " + show(*sh) + " is too large");
    e.shape.push_back(static_cast<int64_t>(n));
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(e.numel, e.dtype->bytes, &bytes)) fail("'shape' " + show(*sh) + " is too large");

  auto off = v.find("data_offsets");
  if (off == v.end()) fail("no 'data_offsets'");
  if (!off->is_array() || off->size() != 2 || !as_u64((*off)[0], e.begin) || !as_u64((*off)[1], e.end) ||
      e.begin > e.end) {
    fail("'data_offsets' must be [begin, end] with 0 <= begin <= end, got " + show(*off));
  }
  if (e.end - e.begin != bytes) {
    fail(fmt::format("shape {} of {} needs {} bytes but data_offsets {} span {}", shape_str(e.shape), dname, bytes,
                     show(*off), e.end - e.begin));
  }
  if (e.end > buffer_bytes) {
    fail(fmt::format("data_offsets {} run past the end of the data buffer ({} bytes)", show(*off), buffer_bytes));
  }
  return e;
}

Header parse_header(const std::string& label, std::string_view text, uint64_t buffer_bytes) {
  // nlohmann keeps the last of two equal keys; a file that names a tensor twice is corrupt, so catch it here.
  std::set<std::string> seen;
  std::string duplicate;
  Json j = detail::parse_json<Json>(text, label + ": header is not valid JSON", kMaxHeaderDepth,
                                    [&](const std::string& key) {
                                      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
                                    });
  ATTN_CHECK(j.is_object(), "{}: header must be a JSON object, got {}", label, show(j));
  ATTN_CHECK(duplicate.empty(), "{}: '{}' appears twice in the header", label, duplicate);

  Header h;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == kMetadataKey) {
      ATTN_CHECK(it->is_object(), "{}: '__metadata__' must map strings to strings, got {}", label, show(*it));
      for (auto m = it->begin(); m != it->end(); ++m) {
        ATTN_CHECK(m->is_string(), "{}: '__metadata__' must map strings to strings, but '{}' is {}", label, m.key(),
                   show(*m));
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    h.entries.push_back(parse_entry(label, it.key(), *it, buffer_bytes));
  }

  // The format requires the tensors to tile the buffer exactly: no overlaps, no holes, nothing after the end.
  std::vector<const Entry*> order;
  for (const Entry& e : h.entries) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const Entry* a, const Entry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : order) {
    ATTN_CHECK(e->begin >= pos, "{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", label, prev->name, prev->begin,
               prev->end, e->name, e->begin, e->end);
    ATTN_CHECK(e->begin == pos, "{}: bytes [{}, {}) of the data buffer belong to no tensor (the format forbids holes)",
               label, pos, e->begin);
    pos = e->end;
    prev = e;
  }
  ATTN_CHECK(pos == buffer_bytes,
             "{}: bytes [{}, {}) of the data buffer belong to no tensor (the format forbids holes and trailing bytes)",
             label, pos, buffer_bytes);
  return h;
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float32
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (mant << 13))  // inf, NaN (payload kept)
                            : (sign | ((exp + 112u) << 23) | (mant << 13));
  return std::bit_cast<float>(bits);
}

template <class T>
void convert_integers(const unsigned char* src, uint64_t n, float* dst, const std::string& label, const Entry& e) {
  for (uint64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    bool exact;
    if constexpr (std::is_signed_v<T>) {
      exact = v >= -kExactIntLimit && v <= kExactIntLimit;
    } else {
      exact = v <= static_cast<uint64_t>(kExactIntLimit);
    }
    ATTN_CHECK(exact, "{}: tensor '{}': {} value {} at index {} cannot be held exactly in float32", label, e.name,
               e.dtype->name, v, i);
    dst[i] = static_cast<float>(v);
  }
}

// Raw little-endian values of e's dtype -> float32.
void convert(const unsigned char* src, float* dst, const std::string& label, const Entry& e) {
  const uint64_t n = e.numel;
  const uint64_t size = e.dtype->bytes;
  switch (e.dtype->kind) {
    case Kind::kF32:
      std::memcpy(dst, src, n * 4);
      return;
    case Kind::kF64:
      for (uint64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, src + i * 8, 8);
        dst[i] = static_cast<float>(d);
      }
      return;
    case Kind::kF16:
    case Kind::kBF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + i * 2, 2);
        dst[i] = e.dtype->kind == Kind::kF16 ? half_to_float(h) : std::bit_cast<float>(uint32_t(h) << 16);
      }
      return;
    case Kind::kBool:
      for (uint64_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1.0f : 0.0f;
      return;
    case Kind::kSigned:
      if (size == 1) return convert_integers<int8_t>(src, n, dst, label, e);
      if (size == 2) return convert_integers<int16_t>(src, n, dst, label, e);
      if (size == 4) return convert_integers<int32_t>(src, n, dst, label, e);
      return convert_integers<int64_t>(src, n, dst, label, e);
    case Kind::kUnsigned:
      if (size == 1) return convert_integers<uint8_t>(src, n, dst, label, e);
      if (size == 2) return convert_integers<uint16_t>(src, n, dst, label, e);
      if (size == 4) return convert_integers<uint32_t>(src, n, dst, label, e);
      return convert_integers<uint64_t>(src, n, dst, label, e);
    case Kind::kUnsupported:
      break;
  }
  attn::detail::throw_error(fmt::format("{}: tensor '{}': dtype {} cannot be converted", label, e.name, e.dtype->name));
}

// Reads `n` bytes at `offset` of the file (or memory block); callers only ask within the validated size.
using ReadAt = std::function<void(uint64_t offset, void* dst, uint64_t n)>;

ReadAt reader_of(const ReadOnlyFile& file) {
  return [&file](uint64_t offset, void* dst, uint64_t n) { file.read_at(offset, dst, n); };
}

// Validates the length prefix and the header of a `total`-byte file; returns the header and the data's offset.
Header read_header(const std::string& label, uint64_t total, const ReadAt& read_at, uint64_t& data_start) {
  ATTN_CHECK(total >= 8, "{}: {} bytes is too short for a safetensors file (it starts with an 8-byte header length)",
             label, total);
  unsigned char prefix[8];
  read_at(0, prefix, 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  ATTN_CHECK(n <= kMaxSafetensorsHeaderBytes, "{}: header length {} exceeds the limit of {} bytes (corrupt file?)",
             label, n, kMaxSafetensorsHeaderBytes);
  ATTN_CHECK(n <= total - 8, "{}: header length {} runs past the end of the file ({} bytes)", label, n, total);
  std::string text(static_cast<size_t>(n), '\0');
  read_at(8, text.data(), n);
  data_start = 8 + n;
  return parse_header(label, text, total - data_start);
}

SafetensorsFile read_all(const std::string& label, uint64_t total, const ReadAt& read_at) {
  uint64_t data_start;
  Header h = read_header(label, total, read_at, data_start);
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  out.tensors.reserve(h.entries.size());
  std::vector<unsigned char> staging;
  for (const Entry& e : h.entries) {
    Tensor t = Tensor::empty(e.shape);
    if (e.dtype->kind == Kind::kF32) {
      read_at(data_start + e.begin, t.data(), e.end - e.begin);
    } else {
      staging.resize(e.end - e.begin);
      read_at(data_start + e.begin, staging.data(), staging.size());
      convert(staging.data(), t.data(), label, e);
    }
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

void check_utf8(const std::string& s, const char* what) {
  try {
    (void)Json(s).dump();
  } catch (const Json::exception&) {
    attn::detail::throw_error(fmt::format("save_safetensors: {} '{}' is not valid UTF-8", what, s));
  }
}

// The padded header text for F32 tensors laid out back to back in the given order.
std::string header_text(const NamedTensors& tensors, const Metadata& metadata) {
  Json h = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) {
      check_utf8(k, "metadata key");
      check_utf8(v, "metadata value");
      m[k] = v;
    }
    h[kMetadataKey] = std::move(m);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    ATTN_CHECK(name != kMetadataKey, "save_safetensors: '{}' is reserved and cannot name a tensor", name);
    check_utf8(name, "tensor name");
    ATTN_CHECK(!h.contains(name), "save_safetensors: tensor '{}' given twice", name);
    ATTN_CHECK(t.defined(), "save_safetensors: tensor '{}' is undefined", name);
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * sizeof(float);
    h[name] = Json{{"dtype", "F32"}, {"shape", t.shape()}, {"data_offsets", Json::array({offset, offset + bytes})}};
    offset += bytes;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the spec pads to 8 bytes so that the data stays aligned
  return text;
}

void write_safetensors(std::ostream& os, const std::string& header, const NamedTensors& tensors) {
  unsigned char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(uint64_t(header.size()) >> (8 * i));
  os.write(reinterpret_cast<const char*>(prefix), 8);
  os.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& [name, t] : tensors) {
    Tensor c = t.contiguous();
    os.write(reinterpret_cast<const char*>(c.data()), static_cast<std::streamsize>(c.numel() * sizeof(float)));
  }
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  std::string header = header_text(tensors, metadata);  // validate before touching the file system
  write_file_atomic(path, [&](std::ostream& os) { write_safetensors(os, header, tensors); });
}

std::string safetensors_bytes(const NamedTensors& tensors, const Metadata& metadata) {
  std::ostringstream os;
  write_safetensors(os, header_text(tensors, metadata), tensors);
  return std::move(os).str();
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& label) {
  return read_all(label, bytes.size(), [&](uint64_t offset, void* dst, uint64_t n) {
    std::memcpy(dst, bytes.data() + offset, n);  // read_header/read_all only ask within `bytes`
  });
}

SafetensorsFile read_safetensors(const std::string& path) {
  ReadOnlyFile file(path);
  return read_all(path, file.size(), reader_of(file));
}

NamedTensors load_safetensors(const std::string& path) { return read_safetensors(path).tensors; }

Metadata safetensors_metadata(const std::string& path) {
  ReadOnlyFile file(path);
  uint64_t data_start;
  return read_header(path, file.size(), reader_of(file), data_start).metadata;
}

std::map<std::string, Tensor> to_map(const NamedTensors& tensors) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors) {
    ATTN_CHECK(out.emplace(name, t).second, "to_map: tensor '{}' occurs twice", name);
  }
  return out;
}

}  // namespace attn::io
