#include "models/offload/offload_config.h"

#include <cmath>
#include <fmt/format.h>

#include "util/errors.h"
#include "traces/arrival_trace.h"

namespace moesim::models {

namespace {

const std::vector<std::pair<std::string, ExpertHome>> kHomes{
    {"host-pinned", ExpertHome::kHostPinned}, {"host-pageable", ExpertHome::kHostPageable}, {"ssd", ExpertHome::kSsd}};

}  // namespace

std::string expert_home_name(ExpertHome home) { return choice_name(kHomes, home); }

const util::Settings<OffloadConfig>& offload_settings() {
  using C = OffloadConfig;
  static const util::Settings<C> settings{
      util::choice_setting("home", &C::home, kHomes, "where experts not in the GPU cache live"),
      util::number_setting("pageable_gb_per_s", &C::pageable_bytes_per_s, 1e-3, 1e6,
                           "cap of a pageable host copy (staged by the driver), GB/s (docs/offload.md)", 1e9),
      util::number_setting("ssd_gb_per_s", &C::ssd_bytes_per_s, 1e-3, 1e6, "NVMe read bandwidth, GB/s (docs/offload.md)",
                           1e9),
      util::duration_setting("ssd_latency_us", &C::ssd_latency, 1e3, true, "per SSD read request"),
      util::optional_duration_setting("copy_overhead_us", &C::copy_overhead, 1e3, "topology",
                                      "per copy: driver call and DMA set-up; topology: the fitted start-up of the "
                                      "host -> GPU path (docs/models.md)"),
      util::boolean_setting("overlap", &C::overlap, "copies on their own stream, beside compute"),
      util::integer_setting("prefetch_in_flight", &C::prefetch_in_flight, 1, 1 << 16, "prefetch copies outstanding at once"),
      util::integer_setting("prefetch_chunks", &C::prefetch_chunks, 1, 1 << 16,
                            "copies per prefetched expert (gate, up, down), each a point to yield or cancel"),
      util::gib_setting("activation_reserve_gib", &C::activation_reserve_bytes, 0.0, 1 << 20,
                        "GPU memory held back for activations"),
      util::integer_setting("max_context_tokens", &C::max_context_tokens, 1, traces::kMaxRequestTokens,
                            "KV cache reserved for one request"),
  };
  return settings;
}

nlohmann::ordered_json to_json(const OffloadConfig& config) {
  nlohmann::ordered_json j{{"cache_experts", config.cache_experts}};
  j.update(util::write_settings(offload_settings(), config));
  return j;
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
  util::read_settings(json, offload_settings(), c);
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
  if (c.cache_experts == 0) c.cache_experts = static_cast<int>(std::min<std::int64_t>(memory_cache_experts(model, gpu, c), all_experts));
  return c;
}

}  // namespace moesim::models
