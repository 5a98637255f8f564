#include "sim/trace_writer.h"

#include <fmt/format.h>

#include <stdexcept>

#include "util/atomic_file.h"

namespace moesim::sim {
namespace {

void append_escaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Chrome timestamps are microseconds; print nanoseconds exactly as a decimal.
void append_micros(std::string& out, Time ns) {
  const char* sign = ns < 0 ? "-" : "";
  const std::int64_t a = ns < 0 ? -ns : ns;
  out += fmt::format("{}{}.{:03d}", sign, a / 1000, a % 1000);
}

}  // namespace

std::uint32_t TraceWriter::intern(std::string_view s) {
  auto it = string_ids_.find(std::string(s));
  if (it != string_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(strings_.back(), id);
  return id;
}

std::uint32_t TraceWriter::group_id(std::string_view group) {
  const std::uint32_t name = intern(group);
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i] == name) return static_cast<std::uint32_t>(i);
  }
  groups_.push_back(name);
  return static_cast<std::uint32_t>(groups_.size() - 1);
}

TraceWriter::TrackId TraceWriter::add_track(std::string_view group, std::string_view track) {
  tracks_.push_back(Track{group_id(group), intern(track)});
  return static_cast<TrackId>(tracks_.size() - 1);
}

bool TraceWriter::full() {
  if (records_.size() < max_records_) return false;
  ++dropped_;
  return true;
}

void TraceWriter::span(TrackId track, std::string_view name, Time start, Time end) {
  if (track >= tracks_.size()) throw std::out_of_range("trace span on an unknown track");
  if (end < start) throw std::invalid_argument("trace span ends before it starts");
  if (full()) return;
  records_.push_back(Record{Kind::kSpan, tracks_[track].group, track, intern(name), start, end, 0.0});
}

void TraceWriter::instant(TrackId track, std::string_view name, Time at) {
  if (track >= tracks_.size()) throw std::out_of_range("trace instant on an unknown track");
  if (full()) return;
  records_.push_back(Record{Kind::kInstant, tracks_[track].group, track, intern(name), at, at, 0.0});
}

void TraceWriter::counter(std::string_view group, std::string_view name, Time at, double value) {
  if (full()) return;
  records_.push_back(Record{Kind::kCounter, group_id(group), 0, intern(name), at, at, value});
}

std::string TraceWriter::to_json() const {
  std::string out = fmt::format("{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"dropped_records\":{}}},\"traceEvents\":[\n",
                                dropped_);
  bool first = true;
  auto begin_event = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    begin_event();
    out += fmt::format("{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"args\":{{\"name\":", g + 1);
    append_escaped(out, strings_[groups_[g]]);
    out += "}}";
  }
  for (std::size_t t = 0; t < tracks_.size(); ++t) {
    begin_event();
    out += fmt::format("{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":",
                       tracks_[t].group + 1, t + 1);
    append_escaped(out, strings_[tracks_[t].name]);
    out += "}}";
  }
  for (const Record& r : records_) {
    begin_event();
    out += "{\"name\":";
    append_escaped(out, strings_[r.name]);
    switch (r.kind) {
      case Kind::kSpan:
        out += fmt::format(",\"ph\":\"X\",\"pid\":{},\"tid\":{},\"ts\":", r.group + 1, r.track + 1);
        append_micros(out, r.start);
        out += ",\"dur\":";
        append_micros(out, r.end - r.start);
        break;
      case Kind::kInstant:
        out += fmt::format(",\"ph\":\"i\",\"s\":\"t\",\"pid\":{},\"tid\":{},\"ts\":", r.group + 1, r.track + 1);
        append_micros(out, r.start);
        break;
      case Kind::kCounter:
        out += fmt::format(",\"ph\":\"C\",\"pid\":{},\"ts\":", r.group + 1);
        append_micros(out, r.start);
        out += fmt::format(",\"args\":{{\"value\":{}}}", r.value);
        break;
    }
    out += "}";
  }
  out += "\n]}\n";
  return out;
}

void TraceWriter::write(const std::string& path) const { write_file_atomic(path, to_json()); }

}  // namespace moesim::sim
