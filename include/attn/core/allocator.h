// 64-byte aligned host memory with a recycling cache for large blocks. Fresh multi-MiB allocations page-fault
// on every touch (glibc hands them out as new mmaps), which costs more than the kernels that use them; a
// training loop asks for the same sizes step after step, so freed large blocks are kept and handed out again.
#pragma once
#include <cstddef>

namespace attn {

constexpr std::size_t kAlignment = 64;

void* allocate(std::size_t bytes);
void deallocate(void* ptr, std::size_t bytes);
// Returns cached blocks to the system.
void release_cached_memory();

}  // namespace attn
