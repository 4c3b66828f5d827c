#include "attn/core/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <new>

#include "attn/core/error.h"

namespace attn {
namespace {

// Smaller blocks: glibc's heap recycles them. Larger ones it mmaps afresh, or trims from the top of the heap
// once freed, and every reuse page-faults again (a batch-1 Transformer layer's [64, 512] activations did).
constexpr std::size_t kCacheMinBytes = std::size_t{64} << 10;
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kCacheMaxBytes = 0;  // let AddressSanitizer see every use after free
#else
constexpr std::size_t kCacheMaxBytes = std::size_t{2} << 30;  // never hold more than this idle
#endif

struct BlockCache {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free_blocks;  // rounded size -> block
  std::unordered_map<void*, std::size_t> oversized;  // blocks handed out for a smaller request -> their size
  std::size_t cached_bytes = 0;

  ~BlockCache() {
    for (auto& [size, ptr] : free_blocks) std::free(ptr);
  }
};

BlockCache& cache() {
  static BlockCache* c = new BlockCache();  // leaked on purpose: outlives every static Tensor
  return *c;
}

// A cached block serves a request up to this much smaller (batches whose shapes change from step to step, as
// token-count batches do, rarely ask for one size twice).
constexpr std::size_t kMaxSlackDivisor = 4;  // at most a quarter of the block unused

// Sizes are rounded so that shapes that differ a little (the last batch, a longer sentence) still reuse: to 4 KiB
// pages below 1 MiB (at most 6 % more), to 64 KiB granules above.
std::size_t round_size(std::size_t bytes) {
  if (bytes < kCacheMinBytes) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  const std::size_t step = bytes < (std::size_t{1} << 20) ? std::size_t{1} << 12 : std::size_t{1} << 16;
  return (bytes + step - 1) / step * step;
}

}  // namespace

void* allocate(std::size_t bytes) {
  std::size_t size = round_size(bytes == 0 ? kAlignment : bytes);
  if (size >= kCacheMinBytes) {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.lower_bound(size);  // the smallest block that fits
    if (it != c.free_blocks.end() && it->first - size <= it->first / kMaxSlackDivisor) {
      void* p = it->second;
      c.cached_bytes -= it->first;
      if (it->first != size) c.oversized.emplace(p, it->first);
      c.free_blocks.erase(it);
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlignment, size);
  ATTN_CHECK(p != nullptr, "out of memory allocating {} bytes", bytes);
  return p;
}

void deallocate(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  std::size_t size = round_size(bytes == 0 ? kAlignment : bytes);
  if (size >= kCacheMinBytes) {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    if (auto it = c.oversized.find(ptr); it != c.oversized.end()) {
      size = it->second;
      c.oversized.erase(it);
    }
    if (c.cached_bytes + size <= kCacheMaxBytes) {
      c.free_blocks.emplace(size, ptr);
      c.cached_bytes += size;
      return;
    }
  }
  std::free(ptr);
}

void release_cached_memory() {
  auto& c = cache();
  std::lock_guard lock(c.mutex);
  for (auto& [size, ptr] : c.free_blocks) std::free(ptr);
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

}  // namespace attn
