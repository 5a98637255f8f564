#include "models/offload/offload_trace.h"

#include <fmt/format.h>

namespace moesim::models {

OffloadTrace::OffloadTrace(sim::TraceWriter* writer, int experts, int cache_ids)
    : writer_(writer),
      experts_(experts),
      lane_of_(static_cast<std::size_t>(cache_ids), -1),
      started_(static_cast<std::size_t>(cache_ids), 0),
      prefetching_(static_cast<std::size_t>(cache_ids), false) {
  if (writer_ == nullptr) return;
  compute_track_ = writer_->add_track("GPU", "compute");
  stall_track_ = writer_->add_track("GPU", "waiting for copies");
}

void OffloadTrace::request(std::uint64_t id, std::int64_t prompt_tokens, sim::Time arrival, sim::Time first_token,
                           sim::Time end) {
  if (writer_ == nullptr) return;
  const auto track = writer_->add_track("requests", fmt::format("req {}", id));
  writer_->span(track, fmt::format("prefill ({} tokens)", prompt_tokens), arrival, first_token);
  if (end > first_token) writer_->span(track, "decode", first_token, end);
}

void OffloadTrace::compute(std::string_view what, sim::Time start, sim::Time end) {
  if (writer_ == nullptr || end <= start) return;
  writer_->span(compute_track_, what, start, end);
}

void OffloadTrace::stall(int layer, sim::Time start, sim::Time end) {
  if (writer_ == nullptr || end <= start) return;
  writer_->span(stall_track_, fmt::format("L{}", layer), start, end);
}

void OffloadTrace::copy_started(int id, bool prefetch, sim::Time at) {
  if (writer_ == nullptr) return;
  std::size_t lane = 0;
  while (lane < lane_busy_.size() && lane_busy_[lane]) ++lane;
  if (lane == lane_busy_.size()) {
    lanes_.push_back(writer_->add_track("host→GPU copies", fmt::format("lane {}", lane)));
    lane_busy_.push_back(false);
  }
  lane_busy_[lane] = true;
  const auto i = static_cast<std::size_t>(id);
  lane_of_[i] = static_cast<int>(lane);
  started_[i] = at;
  prefetching_[i] = prefetch;
}

void OffloadTrace::copy_ended(int id, bool cancelled, sim::Time at) {
  if (writer_ == nullptr) return;
  const auto i = static_cast<std::size_t>(id);
  const auto lane = static_cast<std::size_t>(lane_of_[i]);
  lane_busy_[lane] = false;
  lane_of_[i] = -1;
  writer_->span(lanes_[lane],
                fmt::format("{} MoE{} E{}{}", prefetching_[i] ? "prefetch" : "on demand", id / experts_, id % experts_,
                            cancelled ? " (cancelled)" : ""),
                started_[i], at);
}

void OffloadTrace::resident(std::size_t experts, sim::Time at) {
  if (writer_ == nullptr) return;
  writer_->counter("cache", "resident experts", at, static_cast<double>(experts));
}

}  // namespace moesim::models
