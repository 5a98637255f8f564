// libFuzzer harness: the compact routing reader (.moert) and the routing
// statistics computed from what it accepts (docs/limits.md, "Fuzzing").
#include "fuzz_input.h"
#include "traces/compact_routing.h"
#include "traces/routing_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = moesim_fuzz::write_input(data, size, ".moert");
  moesim_fuzz::expect_clean([&] {
    moesim::traces::CompactRoutingReader reader(path);
    moesim::traces::RequestRouting r;
    while (reader.next(r)) {
    }
  });
  moesim_fuzz::expect_clean([&] { (void)moesim::traces::compute_routing_stats(path); });
  return 0;
}
