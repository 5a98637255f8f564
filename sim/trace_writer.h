#pragma once
// Chrome trace-event JSON (opens in ui.perfetto.dev and chrome://tracing): named
// tracks grouped under named processes, duration spans, instants and counters.
// Records are kept compactly in memory (names interned) and written once,
// atomically, at the end of a run.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/time.h"

namespace moesim::sim {

class TraceWriter {
 public:
  using TrackId = std::uint32_t;

  // Keeps at most `max_records` spans/instants/counters; later ones are counted
  // as dropped (and reported in the file) so long runs cannot exhaust memory.
  explicit TraceWriter(std::size_t max_records = 50'000'000) : max_records_(max_records) {}

  // A track (Chrome "thread") named `track` inside the group (Chrome "process") `group`.
  TrackId add_track(std::string_view group, std::string_view track);
  void span(TrackId track, std::string_view name, Time start, Time end);
  void instant(TrackId track, std::string_view name, Time at);
  // A counter series shown as its own track inside `group`.
  void counter(std::string_view group, std::string_view name, Time at, double value);

  // From now on keep at most `n` more records (a budget per phase of a run).
  void limit_additional(std::size_t n) { max_records_ = records_.size() + n; }
  std::size_t record_count() const { return records_.size(); }
  std::uint64_t dropped_records() const { return dropped_; }
  std::string to_json() const;
  void write(const std::string& path) const;

 private:
  enum class Kind : std::uint8_t { kSpan, kInstant, kCounter };
  struct Record {
    Kind kind;
    std::uint32_t group;  // pid
    std::uint32_t track;  // tid (spans, instants)
    std::uint32_t name;   // interned
    Time start;
    Time end;
    double value;
  };
  struct Track {
    std::uint32_t group;
    std::uint32_t name;
  };
  std::uint32_t intern(std::string_view s);
  bool full();
  std::uint32_t group_id(std::string_view group);

  std::vector<std::string> strings_;
  std::unordered_map<std::string, std::uint32_t> string_ids_;
  std::vector<std::uint32_t> groups_;  // group index -> interned name
  std::vector<Track> tracks_;
  std::vector<Record> records_;
  std::size_t max_records_;
  std::uint64_t dropped_ = 0;
};

}  // namespace moesim::sim
