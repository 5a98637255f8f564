#include "models/workload/arrivals.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "util/errors.h"
#include "traces/arrival_trace.h"

namespace moesim::models {

std::int64_t TokenLengths::draw(sim::Rng& rng) const {
  double x = mean;
  if (cv > 0.0) {
    // Lognormal with the requested mean and coefficient of variation.
    const double sigma2 = std::log1p(cv * cv);
    x = rng.lognormal(std::log(mean) - sigma2 / 2.0, std::sqrt(sigma2));
  }
  // Clamped as a double first: a far lognormal tail must not reach llround's undefined range.
  return std::llround(std::clamp(x, static_cast<double>(min), static_cast<double>(max)));
}

double ArrivalSpec::mean_rate_per_s() const {
  if (kind != "mmpp") return rate_per_s;
  double dwell = 0.0;
  double arrivals = 0.0;
  for (const MmppState& s : states) {
    dwell += s.mean_dwell_s;
    arrivals += s.mean_dwell_s * s.rate_per_s;
  }
  return arrivals / dwell;
}

std::string ArrivalSpec::label() const {
  if (kind == "trace") return fmt::format("real arrivals replayed from {} (time ×{})", trace_path, 1.0 / time_scale);
  if (kind == "gamma") return fmt::format("Gamma renewal {:.2f} req/s, CV {:.2f} (synthetic)", rate_per_s, cv);
  if (kind == "mmpp") return fmt::format("MMPP with {} states, mean {:.2f} req/s (synthetic)", states.size(), mean_rate_per_s());
  return fmt::format("Poisson {:.2f} req/s (synthetic)", rate_per_s);
}

namespace {

TokenLengths parse_lengths(const JsonInput& json) {
  TokenLengths t;
  t.mean = json.at("mean").number_in(1.0, static_cast<double>(traces::kMaxRequestTokens));
  t.cv = json.number_or("cv", t.cv);
  json.check(t.cv >= 0.0 && t.cv <= 100.0, "cv in [0, 100]");
  t.min = json.integer_in_or("min", 1, traces::kMaxRequestTokens, t.min);
  t.max = json.integer_in_or("max", 1, traces::kMaxRequestTokens, t.max);
  json.check(t.max >= t.min, "1 <= min <= max");
  return t;
}

// Synthetic processes: inter-arrival gaps from `gap`, token lengths from the spec.
class SyntheticArrivals final : public ArrivalStream {
 public:
  SyntheticArrivals(const ArrivalSpec& spec, sim::Rng rng) : spec_(spec), rng_(rng) {
    if (spec_.kind == "mmpp") {
      state_ = static_cast<std::size_t>(rng_.uniform_int(spec_.states.size()));
      switch_at_ = rng_.exponential(1.0 / spec_.states[state_].mean_dwell_s);
    }
  }
  // Ends where an arrival would leave the clock's range: a process of billions of
  // seconds with a count still to reach (docs/limits.md).
  std::optional<Arrival> next() override {
    now_s_ = next_time();
    if (!(now_s_ <= kLastArrivalSeconds)) return std::nullopt;
    return Arrival{sim::from_seconds(now_s_), spec_.input.draw(rng_), spec_.output.draw(rng_), {}};
  }

 private:
  double next_time() {
    if (spec_.kind == "poisson") return now_s_ + rng_.exponential(spec_.rate_per_s);
    if (spec_.kind == "gamma") {
      const double shape = 1.0 / (spec_.cv * spec_.cv);
      return now_s_ + rng_.gamma(shape, 1.0 / (spec_.rate_per_s * shape));
    }
    // MMPP: memoryless within a state, so a gap that crosses the switch is redrawn there.
    double t = now_s_;
    while (true) {
      const double rate = spec_.states[state_].rate_per_s;
      const double candidate = rate > 0.0 ? t + rng_.exponential(rate) : INFINITY;
      if (candidate < switch_at_) return candidate;
      t = switch_at_;
      // States that all but never arrive (a rate of 1e-8 per second visited for a
      // nanosecond) would otherwise switch without end: past the clock, stop.
      if (t > kLastArrivalSeconds) return t;
      std::size_t other = static_cast<std::size_t>(rng_.uniform_int(spec_.states.size() - 1));
      state_ = other >= state_ ? other + 1 : other;
      switch_at_ = t + rng_.exponential(1.0 / spec_.states[state_].mean_dwell_s);
    }
  }
  ArrivalSpec spec_;
  sim::Rng rng_;
  double now_s_ = 0.0;
  std::size_t state_ = 0;
  double switch_at_ = 0.0;
};

class TraceArrivals final : public ArrivalStream {
 public:
  explicit TraceArrivals(const ArrivalSpec& spec)
      : reader_(traces::open_arrival_trace(spec.trace_path, spec.trace_format)), path_(spec.trace_path),
        time_scale_(spec.time_scale) {}
  std::optional<Arrival> next() override {
    auto rec = reader_->next();
    if (!rec) return std::nullopt;
    // time_scale may stretch offsets past the clock's range: refused, not cast.
    const double at = static_cast<double>(rec->offset) / time_scale_;
    if (at >= 9.2e18) {
      throw InputError(fmt::format("{}:{}: this arrival, {:.3g} s after the first, is beyond the 292-year clock once "
                                   "divided by time_scale {}",
                                   path_, rec->line, at * 1e-9, time_scale_));
    }
    // A request with no prompt or no output still costs one token of each.
    return Arrival{static_cast<sim::Time>(at), std::max<std::int64_t>(1, rec->input_tokens),
                   std::max<std::int64_t>(1, rec->output_tokens), std::move(rec->prefix_hashes)};
  }

 private:
  std::unique_ptr<traces::ArrivalReader> reader_;
  std::string path_;
  double time_scale_;
};

}  // namespace

ArrivalSpec parse_arrivals(const JsonInput& json) {
  ArrivalSpec a;
  if (json.has("kind")) a.kind = json.at("kind").choice({"poisson", "gamma", "mmpp", "trace"});
  a.count = json.integer_in_or("count", 0, std::int64_t{1} << 32, a.count);
  if (a.kind == "trace") {
    if (json.has("format")) {
      std::vector<std::string> formats{"auto"};
      for (const auto& f : traces::arrival_trace_formats()) formats.push_back(f);
      a.trace_format = json.at("format").choice(formats);
    }
    a.trace_path = json.at("path").path_relative_to_source();
    if (const auto scale = json.find("time_scale")) a.time_scale = scale->number_in(1e-6, 1e6);
    return a;
  }
  if (a.kind == "poisson" || a.kind == "gamma") {
    a.rate_per_s = json.at("rate_per_s").rate_per_s();
    // The gamma sampler's shape is 1/cv²: below 0.05 the gaps are deterministic to
    // the nanosecond, above 20 nearly every request lands in one burst (docs/limits.md).
    if (a.kind == "gamma") a.cv = json.at("cv").number_in(0.05, 20.0);
  } else {
    const JsonInput states = json.at("states");
    const auto items = states.items();
    states.check(items.size() >= 2, "at least 2 states");
    double total_rate = 0.0;
    for (const JsonInput& s : items) {
      a.states.push_back({s.at("rate_per_s").rate_per_s(true), s.at("mean_dwell_s").duration(1.0)});
      total_rate += a.states.back().rate_per_s;
    }
    states.check(total_rate > 0.0, "at least one state with rate_per_s > 0");
  }
  a.input = parse_lengths(json.at("input_tokens"));
  a.output = parse_lengths(json.at("output_tokens"));
  return a;
}

nlohmann::ordered_json to_json(const ArrivalSpec& a) {
  nlohmann::ordered_json j{{"comment", a.from_trace() ? "real arrivals (trace replayed)" : "synthetic arrivals"},
                           {"kind", a.kind},
                           {"count", a.count}};
  if (a.from_trace()) {
    j["path"] = a.trace_path;
    j["format"] = a.trace_format;
    j["time_scale"] = a.time_scale;
    return j;
  }
  if (a.kind == "mmpp") {
    for (const auto& st : a.states) j["states"].push_back({{"rate_per_s", st.rate_per_s}, {"mean_dwell_s", st.mean_dwell_s}});
  } else {
    j["rate_per_s"] = a.rate_per_s;
    if (a.kind == "gamma") j["cv"] = a.cv;
  }
  const auto lengths = [](const TokenLengths& t) {
    return nlohmann::ordered_json{{"mean", t.mean}, {"cv", t.cv}, {"min", t.min}, {"max", t.max}};
  };
  j["input_tokens"] = lengths(a.input);
  j["output_tokens"] = lengths(a.output);
  return j;
}

std::unique_ptr<ArrivalStream> open_arrivals(const ArrivalSpec& spec, sim::Rng rng) {
  if (spec.from_trace()) return std::make_unique<TraceArrivals>(spec);
  return std::make_unique<SyntheticArrivals>(spec, rng);
}

}  // namespace moesim::models
