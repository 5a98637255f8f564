#pragma once
// Size-class free lists for coroutine frames. Blocks are recycled, never returned
// to the system, so steady-state process creation costs a pointer pop. Under
// AddressSanitizer the pool is bypassed so use-after-free of frames is caught.
#include <cstddef>

namespace moesim::sim {

void* frame_pool_allocate(std::size_t bytes);
void frame_pool_free(void* p, std::size_t bytes) noexcept;

}  // namespace moesim::sim
