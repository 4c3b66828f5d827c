// Safetensors files, exactly as Hugging Face specifies them, so that attn's models and PyTorch's state_dicts
// (saved with safetensors.torch) are read and written by each other: u64 little-endian header length N, N bytes
// of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the data.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  NamedTensors tensors;  // in the order the header lists them
  Metadata metadata;     // the "__metadata__" entry; empty when absent
};

// Headers beyond this are refused as corrupt (the reference implementation's limit).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Writes F32 tensors atomically (see atomic_file.h). The header and the data keep the given order; names must be
// unique, valid UTF-8 and not "__metadata__"; tensors may be views (they are written contiguous).
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});
// The file's bytes, for writing elsewhere.
std::string safetensors_bytes(const NamedTensors& tensors, const Metadata& metadata = {});

// Reads a file, converting F64, F16, BF16 and integer/bool dtypes to float32 (integers must lie within +-2^24,
// where float32 is exact). Every malformation (bad lengths, JSON, dtypes, shapes, offsets, overlaps, holes)
// throws attn::Error naming the file and the problem; nothing is read outside the file.
SafetensorsFile read_safetensors(const std::string& path);
NamedTensors load_safetensors(const std::string& path);
Metadata safetensors_metadata(const std::string& path);  // reads the header only
// The same from bytes in memory; `label` names them in errors.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& label = "<memory>");

// name -> tensor, for look-ups; throws if a name occurs twice.
std::map<std::string, Tensor> to_map(const NamedTensors& tensors);

}  // namespace attn::io
