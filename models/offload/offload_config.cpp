#include "models/offload/offload_config.h"

#include <cmath>
#include <fmt/format.h>

#include "util/errors.h"
#include "traces/arrival_trace.h"

namespace moesim::models {

const char* expert_home_name(ExpertHome home) {
  switch (home) {
    case ExpertHome::kHostPinned: return "host-pinned";
    case ExpertHome::kHostPageable: return "host-pageable";
    case ExpertHome::kSsd: return "ssd";
  }
  return "?";
}

std::int64_t dense_weight_bytes(const MoeModel& model) {
  return static_cast<std::int64_t>(model.params_with_routed_experts(0)) * model.dtype_bytes;
}

int memory_cache_experts(const MoeModel& model, const GpuProfile& gpu, const OffloadConfig& config) {
  const std::int64_t kv = model.kv_cache_bytes_per_token() * config.max_context_tokens;
  const std::int64_t free = gpu.memory_bytes - dense_weight_bytes(model) - config.activation_reserve_bytes - kv;
  if (free < model.expert_bytes()) {
    throw InputError(fmt::format(
        "{} ({} GiB) leaves {:.2f} GiB for the expert cache after {} dense weights ({:.2f} GiB), activations ({:.2f} GiB) "
        "and one request's KV cache ({:.2f} GiB); one expert needs {:.3f} GiB",
        gpu.name, gpu.memory_bytes >> 30, static_cast<double>(free) / (1 << 30), model.name,
        static_cast<double>(dense_weight_bytes(model)) / (1 << 30),
        static_cast<double>(config.activation_reserve_bytes) / (1 << 30), static_cast<double>(kv) / (1 << 30),
        static_cast<double>(model.expert_bytes()) / (1 << 30)));
  }
  return static_cast<int>(free / model.expert_bytes());
}

OffloadConfig parse_offload_config(const JsonInput& json, const MoeModel& model, const GpuProfile& gpu) {
  OffloadConfig c;
  const std::int64_t all_experts = static_cast<std::int64_t>(model.experts) * model.moe_layer_count();
  const std::int64_t expert_bytes = model.expert_bytes();
  int given = 0;
  if (const auto v = json.find("cache_experts")) {
    const std::int64_t n = v->integer();
    v->check(n >= 1, "a cache of at least one expert");
    c.cache_experts = static_cast<int>(std::min(n, all_experts));
    ++given;
  }
  if (const auto v = json.find("cache_fraction")) {
    const double f = v->number_in(0.0, 1.0);
    const auto n = static_cast<std::int64_t>(std::floor(f * static_cast<double>(all_experts)));
    if (n < 1) v->fail(fmt::format("a cache of {} × {} experts holds less than one expert", f, all_experts));
    c.cache_experts = static_cast<int>(n);
    ++given;
  }
  if (const auto v = json.find("cache_bytes")) {
    const std::int64_t b = v->integer();
    if (b < expert_bytes) {
      v->fail(fmt::format("a cache of {} bytes is smaller than one {} expert ({} bytes)", b, model.name, expert_bytes));
    }
    c.cache_experts = static_cast<int>(std::min(b / expert_bytes, all_experts));
    ++given;
  }
  if (given > 1) json.fail("give at most one of cache_experts, cache_fraction, cache_bytes");
  if (const auto v = json.find("home")) {
    const std::string h = v->string();
    if (h == "host-pinned") {
      c.home = ExpertHome::kHostPinned;
    } else if (h == "host-pageable") {
      c.home = ExpertHome::kHostPageable;
    } else if (h == "ssd") {
      c.home = ExpertHome::kSsd;
    } else {
      v->fail(fmt::format("unknown expert home '{}' (known: host-pinned, host-pageable, ssd)", h));
    }
  }
  auto rate = [&](const char* key, double& out) {
    if (const auto v = json.find(key)) out = v->number_in(1e-3, 1e6) * 1e9;
  };
  auto micros = [&](const char* key, sim::Time& out) {
    if (const auto v = json.find(key)) out = static_cast<sim::Time>(std::llround(v->duration(1e-6, true) * 1e3));
  };
  rate("pageable_gb_per_s", c.pageable_bytes_per_s);
  rate("ssd_gb_per_s", c.ssd_bytes_per_s);
  micros("ssd_latency_us", c.ssd_latency);
  micros("copy_overhead_us", c.copy_overhead);
  if (const auto v = json.find("overlap")) c.overlap = v->boolean();
  if (const auto v = json.find("prefetch_in_flight")) c.prefetch_in_flight = static_cast<int>(v->integer_in(1, 1 << 16));
  if (const auto v = json.find("prefetch_chunks")) c.prefetch_chunks = static_cast<int>(v->integer_in(1, 1 << 16));
  if (const auto v = json.find("activation_reserve_gib")) {
    c.activation_reserve_bytes = static_cast<std::int64_t>(v->number_in(0.0, 1 << 20) * (1 << 30));
  }
  if (const auto v = json.find("max_context_tokens")) c.max_context_tokens = v->integer_in(1, traces::kMaxRequestTokens);
  if (c.cache_experts == 0) c.cache_experts = static_cast<int>(std::min<std::int64_t>(memory_cache_experts(model, gpu, c), all_experts));
  return c;
}

}  // namespace moesim::models
