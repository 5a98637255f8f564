// libFuzzer harness: a serving scenario read and then run end to end (cluster,
// placement, routing, engine, metrics and their JSON/CSV). scenario_fuzz only reads;
// this one finds what a scenario that reads cleanly does to the engine: a crash, a
// sanitizer report, an exception other than InputError, or a hang (libFuzzer's
// -timeout). Each scenario is first made small (below), so a timeout means a run
// that does not end, not a long one.
#include <algorithm>
#include <cstdint>
#include <string>

#include "experiments/run/run_scenario.h"
#include "experiments/run/scenario.h"
#include "fuzz_input.h"
#include "models/topology.h"
#include "util/json_input.h"

namespace {

// Bounds the work of a run to well under a second, also under ASan: few GPUs, 8
// requests of at most 512 prompt and 64 output tokens, a model of modest size,
// rebalancing no more often than every 10 ms, and Zipf skews up to 2. Beyond, a
// token's last picks repeat ever more and then take the exact scan, up to ~50× slower
// per token (docs/limits.md): slow, not stuck, but at the fuzzer's timeout.
// Trace arrivals become Poisson ones (the trace readers are text_readers_fuzz's), so
// the shipped scenarios, most of them trace-driven, seed the corpus. False for
// scenarios the harness leaves alone.
bool make_small(moesim::run::Scenario& s) {
  if (s.arrivals.from_trace()) {
    s.arrivals.kind = "poisson";
    s.arrivals.rate_per_s = 4.0;
  }
  if (moesim::models::topology_gpu_count(s.topology) > 16) return false;
  if (s.model.layers > 64 || static_cast<std::int64_t>(s.model.experts) * s.model.layers > (1 << 13)) return false;
  s.duration_s = std::min(s.duration_s, 2.0);
  s.arrivals.count = s.arrivals.count == 0 ? 8 : std::min<std::int64_t>(s.arrivals.count, 8);
  const auto shorten = [](moesim::models::TokenLengths& lengths, std::int64_t most) {
    lengths.max = std::min(lengths.max, most);
    lengths.min = std::min(lengths.min, lengths.max);
    lengths.mean = std::min(lengths.mean, static_cast<double>(most));
  };
  shorten(s.arrivals.input, 512);
  shorten(s.arrivals.output, 64);
  s.rebalance_interval_s = std::max(s.rebalance_interval_s, 0.01);
  s.routing.skew = std::min(s.routing.skew, 2.0);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  moesim_fuzz::expect_clean([&] {
    moesim::run::Scenario s = moesim::run::parse_scenario(moesim::JsonInput::parse(text, "fuzz.json"));
    if (!make_small(s)) return;
    const moesim::run::RunResult r = moesim::run::run_scenario(s);
    (void)moesim::run::metrics_json(s, r);
    (void)moesim::run::requests_csv(r);
    (void)moesim::run::format_summary(s, r);
  });
  return 0;
}
