#pragma once
// Request arrivals: real traces replayed (Azure LLM 2023, Mooncake), or synthetic
// processes for tests and what-if runs, always labelled "synthetic":
//  * poisson — exponential inter-arrivals at rate λ;
//  * gamma   — i.i.d. Gamma inter-arrivals with mean 1/λ and coefficient of
//              variation cv (cv > 1: burstier than Poisson; cv = 1 is Poisson);
//  * mmpp    — Markov-modulated Poisson: the process sits in state i for an
//              Exp(mean dwell_i) time emitting Poisson(λ_i) arrivals, then jumps to
//              a uniformly chosen other state. Long-run rate Σ π_i λ_i, π_i ∝ dwell_i.
// Synthetic token lengths are lognormal with a given mean and CV.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/json_input.h"
#include "sim/rng.h"
#include "sim/time.h"

namespace moesim::models {

struct TokenLengths {
  double mean = 512;
  double cv = 0.0;  // coefficient of variation (0: every request has `mean`)
  std::int64_t min = 1;
  std::int64_t max = 1 << 20;
  std::int64_t draw(sim::Rng& rng) const;
};

struct MmppState {
  double rate_per_s = 0.0;  // may be 0 (an idle period)
  double mean_dwell_s = 1.0;
};

struct ArrivalSpec {
  std::string kind = "poisson";  // poisson | gamma | mmpp | trace
  double rate_per_s = 1.0;       // poisson, gamma
  double cv = 1.0;               // gamma: CV of inter-arrival times
  std::vector<MmppState> states;  // mmpp
  std::int64_t count = 0;         // 0: until the scenario's duration
  TokenLengths input;
  TokenLengths output;
  // A real trace replayed with its token counts, its clock sped up by time_scale
  // (2: twice the request rate).
  std::string trace_path;
  std::string trace_format = "auto";
  double time_scale = 1.0;
  bool from_trace() const { return kind == "trace"; }
  double mean_rate_per_s() const;  // synthetic kinds: the long-run rate
  std::string label() const;
};

ArrivalSpec parse_arrivals(const JsonInput& json);
// The spec as parse_arrivals reads it back, real or synthetic in "comment".
nlohmann::ordered_json to_json(const ArrivalSpec& spec);

struct Arrival {
  sim::Time at = 0;  // since the start of the run
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::vector<std::uint64_t> prefix_hashes;  // the trace's prompt-block hashes (Mooncake), if any
};

// The latest synthetic arrival, in seconds: 2^63 ns is ~9.2e9 s, and requests arriving
// then still need room for their service in the integer-ns clock.
inline constexpr double kLastArrivalSeconds = 2.8e9;

// The arrivals of one run in time order; nullopt when a trace ends, or when a
// synthetic process's next arrival would leave the clock's range (far past any
// duration_s: the caller stops at its horizon or count before).
class ArrivalStream {
 public:
  virtual ~ArrivalStream() = default;
  virtual std::optional<Arrival> next() = 0;
};

std::unique_ptr<ArrivalStream> open_arrivals(const ArrivalSpec& spec, sim::Rng rng);

}  // namespace moesim::models
