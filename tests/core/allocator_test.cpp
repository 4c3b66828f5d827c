// The block cache: freed large blocks come back for the same or a slightly smaller request, never for one that
// would waste most of the block, always 64-byte aligned; the real block size survives a smaller reuse.
#include "attn/core/allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace attn {
namespace {

TEST(Allocator, ReusesFittingBlocksOnly) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the cache is off under AddressSanitizer";
#endif
  release_cached_memory();
  const std::size_t big = (std::size_t{7} << 20) + 12345;  // an unusual size no other test asks for
  void* a = allocate(big);
  ASSERT_EQ(reinterpret_cast<std::uintptr_t>(a) % kAlignment, 0u);
  std::memset(a, 1, big);
  deallocate(a, big);
  void* b = allocate(big - big / 8);  // a little smaller: the cached block serves it
  EXPECT_EQ(b, a);
  std::memset(b, 2, big - big / 8);
  deallocate(b, big - big / 8);  // returns the whole block to the cache
  void* c = allocate(big);       // the full size fits again: the block kept its real size
  EXPECT_EQ(c, a);
  std::memset(c, 3, big);
  void* d = allocate(big / 3);  // much smaller than any cached block: a fresh one
  EXPECT_NE(d, a);
  deallocate(d, big / 3);
  deallocate(c, big);
  release_cached_memory();
  void* e = allocate(16);  // small blocks are glibc's business
  ASSERT_EQ(reinterpret_cast<std::uintptr_t>(e) % kAlignment, 0u);
  deallocate(e, 16);
}

}  // namespace
}  // namespace attn
