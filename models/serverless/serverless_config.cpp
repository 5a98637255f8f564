#include "models/serverless/serverless_config.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "models/serverless/keep_alive.h"

namespace moesim::models {

namespace {

const std::vector<std::pair<std::string, WeightSource>> kWeightSources{
    {"host", WeightSource::kHost}, {"peer", WeightSource::kPeer}, {"remote", WeightSource::kRemote}};

}  // namespace

std::string weight_source_name(WeightSource s) { return choice_name(kWeightSources, s); }

std::int64_t default_pool_bytes(const MoeModel& m, int gpus) {
  const std::int64_t per_gpu_layer = (m.experts + gpus - 1) / gpus;
  return per_gpu_layer * m.moe_layer_count() * m.expert_bytes() * 3 / 2;
}

sim::Time billed_time(sim::Time used, const ServerlessConfig& config) {
  if (used <= 0) return 0;
  const sim::Time g = config.billing_granularity;
  const sim::Time rounded = g > 0 ? (used + g - 1) / g * g : used;
  return std::max(rounded, config.billing_minimum);
}

const util::Settings<ServerlessConfig>& serverless_settings() {
  using C = ServerlessConfig;
  static const util::Settings<C> settings{
      util::choice_setting("weights_from", &C::source, kWeightSources,
                           "where a cold instance's weights come from: host memory, a warm peer GPU, remote storage"),
      util::number_setting("remote_gb_per_s", &C::remote_bytes_per_s, 1e-3, 1e6,
                           "remote storage bandwidth, GB/s (default: a 25 Gb/s NIC)", 1e9),
      util::duration_setting("remote_latency_ms", &C::remote_latency, 1e6, true, "remote storage first-byte latency"),
      util::duration_setting("init_ms", &C::init_time, 1e6, true, "runtime initialisation once the weights land"),
      util::duration_setting("reservation_ms", &C::reservation, 1e6, false,
                             "an instance prepared ahead of use is not evicted or reclaimed this long"),
      util::gib_setting("pool_gib", &C::pool_bytes, 0.0, 1 << 24,
                        "per-GPU memory for instances; 0: static EP's expert bytes per GPU × 1.5 (docs/serverless.md)"),
      util::duration_setting("billing_granularity_ms", &C::billing_granularity, 1e6, true,
                             "each invocation billed rounded up to this (AWS Lambda: 1 ms; 0: exact)"),
      util::duration_setting("billing_minimum_ms", &C::billing_minimum, 1e6, true,
                             "each invocation billed at least this (AWS Lambda: none beyond the rounding)"),
      util::number_setting("gpu_hour_price", &C::gpu_hour_price, 1e-9, 1e9, "$ per GPU-hour (1: costs read as GPU-hours)"),
      util::number_setting("gb_hour_price", &C::gb_hour_price, 0.0, 1e9, "$ per GB-hour of instance memory"),
  };
  return settings;
}

ServerlessConfig parse_serverless_config(const JsonInput& json) {
  ServerlessConfig c;
  util::read_settings(json, serverless_settings(), c);
  c.keep_alive = json.find("keep_alive");
  if (c.keep_alive) make_keep_alive(c.keep_alive);  // reject a bad keep-alive while reading the scenario
  return c;
}

nlohmann::ordered_json to_json(const ServerlessConfig& config) {
  nlohmann::ordered_json j = util::write_settings(serverless_settings(), config);
  j["keep_alive"] = config.keep_alive ? nlohmann::ordered_json(config.keep_alive->raw())
                                      : nlohmann::ordered_json{{"policy", "fixed"}, {"seconds", sim::to_seconds(kDefaultKeepAlive)}};
  return j;
}

}  // namespace moesim::models
