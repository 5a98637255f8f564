#pragma once
// Runs body(0) ... body(n-1) on `threads` workers (the caller's thread is one of
// them). The first exception stops handing out work and is rethrown to the caller.
#include <cstddef>
#include <functional>

namespace moesim::workflows {

void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& body);

}  // namespace moesim::workflows
