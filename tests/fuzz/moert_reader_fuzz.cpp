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
  // The statistics zero per-(layer, expert) tables as large as the header allows
  // (8 MiB each, milliseconds under ASan); above 2^16 cells the harness reads only,
  // which keeps it at thousands of inputs a second instead of hundreds.
  moesim_fuzz::expect_clean([&] {
    const moesim::traces::CompactRoutingReader probe(path);
    if (std::uint64_t{probe.header().moe_layers} * probe.header().experts > (1u << 16)) return;
    (void)moesim::traces::compute_routing_stats(path);
  });
  return 0;
}
