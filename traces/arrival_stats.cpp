#include "traces/arrival_stats.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/errors.h"
#include "traces/arrival_trace.h"

namespace moesim::traces {

double ArrivalStats::gap_cv() const { return gaps.mean() > 0 ? std::sqrt(gaps.variance()) / gaps.mean() : 0.0; }

double ArrivalStats::peak_window_rate() const {
  std::uint64_t peak = 0;
  for (auto c : window_counts) peak = std::max(peak, c);
  return static_cast<double>(peak) / window_s;
}

double ArrivalStats::window_dispersion() const {
  // The last window is usually cut short by the end of the trace: leave it out.
  sim::Tally t;
  for (std::size_t i = 0; i + 1 < window_counts.size(); ++i) t.add(static_cast<double>(window_counts[i]));
  return t.count() > 1 && t.mean() > 0 ? t.variance() / t.mean() : 0.0;
}

namespace {
constexpr std::size_t kMaxRateWindows = 10'000'000;
}  // namespace

ArrivalStats compute_arrival_stats(const std::string& path, const std::string& format, double window_s) {
  if (!(window_s > 0.0)) throw InputError(fmt::format("the rate window must be positive, got {} s", window_s));
  auto reader = open_arrival_trace(path, format);
  ArrivalStats s;
  s.path = path;
  s.format = reader->format();
  s.window_s = window_s;
  double last = 0.0;
  while (const auto r = reader->next()) {
    const double t = sim::to_seconds(r->offset);
    if (s.requests > 0) s.gaps.add(t - last);
    last = t;
    ++s.requests;
    // The window count grows with the span: bounded before the table does (docs/limits.md).
    if (t / window_s >= static_cast<double>(kMaxRateWindows)) {
      throw InputError(fmt::format("{}: {} s windows over this trace's {:.0f} s make more than {} windows; use a wider "
                                   "--rate-window",
                                   path, window_s, t, kMaxRateWindows));
    }
    const auto w = static_cast<std::size_t>(t / window_s);
    if (w >= s.window_counts.size()) s.window_counts.resize(w + 1, 0);
    ++s.window_counts[w];
    s.input.tally.add(static_cast<double>(r->input_tokens));
    s.input.quantiles.add(static_cast<double>(r->input_tokens));
    s.output.tally.add(static_cast<double>(r->output_tokens));
    s.output.quantiles.add(static_cast<double>(r->output_tokens));
  }
  if (s.requests == 0) throw InputError(fmt::format("{}: no arrivals", path));
  s.duration_s = last;
  return s;
}

namespace {

std::string length_row(const char* name, const LengthStats& l) {
  return fmt::format("{:<14} {:>9.1f} {:>8.0f} {:>8.0f} {:>8.0f} {:>9.0f}\n", name, l.tally.mean(), l.quantiles.quantile(0.5),
                     l.quantiles.quantile(0.9), l.quantiles.quantile(0.99), l.tally.max());
}

nlohmann::ordered_json length_json(const LengthStats& l) {
  return {{"mean", l.tally.mean()}, {"p50", l.quantiles.quantile(0.5)}, {"p90", l.quantiles.quantile(0.9)},
          {"p99", l.quantiles.quantile(0.99)}, {"max", l.tally.max()}};
}

}  // namespace

std::string format_arrival_stats(const ArrivalStats& s) {
  std::string out = fmt::format("{} ({} arrival trace): {} requests over {:.1f} s\n\n", s.path, s.format, s.requests,
                                s.duration_s);
  out += fmt::format("rate: mean {:.2f} req/s, peak {:.2f} req/s over {:.0f}-s windows (peak/mean {:.2f})\n", s.mean_rate(),
                     s.peak_window_rate(), s.window_s, s.mean_rate() > 0 ? s.peak_window_rate() / s.mean_rate() : 0.0);
  out += fmt::format("burstiness: inter-arrival CV {:.2f} (Poisson 1), index of dispersion of window counts {:.1f} (Poisson 1)\n\n",
                     s.gap_cv(), s.window_dispersion());
  out += "tokens              mean      p50      p90      p99       max\n";
  out += length_row("input (prompt)", s.input);
  out += length_row("output", s.output);
  return out;
}

std::string arrival_stats_json(const ArrivalStats& s) {
  nlohmann::ordered_json j;
  j["kind"] = "arrivals";
  j["path"] = s.path;
  j["format"] = s.format;
  j["requests"] = s.requests;
  j["duration_s"] = s.duration_s;
  j["mean_rate_per_s"] = s.mean_rate();
  j["window_s"] = s.window_s;
  j["window_counts"] = s.window_counts;
  j["peak_window_rate_per_s"] = s.peak_window_rate();
  j["inter_arrival_cv"] = s.gap_cv();
  j["window_dispersion"] = s.window_dispersion();
  j["input_tokens"] = length_json(s.input);
  j["output_tokens"] = length_json(s.output);
  return j.dump(2) + "\n";
}

}  // namespace moesim::traces
