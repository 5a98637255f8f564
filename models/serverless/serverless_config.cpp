#include "models/serverless/serverless_config.h"

#include <cmath>
#include <fmt/format.h>

#include "models/serverless/keep_alive.h"

namespace moesim::models {

std::string weight_source_name(WeightSource s) {
  switch (s) {
    case WeightSource::kHost: return "host";
    case WeightSource::kPeer: return "peer";
    case WeightSource::kRemote: return "remote";
  }
  return "?";
}

std::int64_t default_pool_bytes(const MoeModel& m, int gpus) {
  const std::int64_t per_gpu_layer = (m.experts + gpus - 1) / gpus;
  return per_gpu_layer * m.moe_layer_count() * m.expert_bytes() * 3 / 2;
}

ServerlessConfig parse_serverless_config(const JsonInput& json) {
  ServerlessConfig c;
  if (const auto v = json.find("weights_from")) {
    const std::string s = v->string();
    if (s == "host") {
      c.source = WeightSource::kHost;
    } else if (s == "peer") {
      c.source = WeightSource::kPeer;
    } else if (s == "remote") {
      c.source = WeightSource::kRemote;
    } else {
      v->fail(fmt::format("unknown weight source '{}' (known: host, peer, remote)", s));
    }
  }
  if (const auto v = json.find("remote_gb_per_s")) c.remote_bytes_per_s = v->number_in(1e-3, 1e6) * 1e9;
  if (const auto v = json.find("remote_latency_ms")) c.remote_latency = sim::from_seconds(v->duration(1e-3, true) * 1e-3);
  if (const auto v = json.find("init_ms")) c.init_time = sim::from_seconds(v->duration(1e-3, true) * 1e-3);
  if (const auto v = json.find("reservation_ms")) c.reservation = sim::from_seconds(v->duration(1e-3) * 1e-3);
  if (const auto v = json.find("pool_gib")) {
    // Checked as a double before the cast to bytes (1e300 GiB does not fit int64).
    c.pool_bytes = static_cast<std::int64_t>(v->number_in(1.0 / 1024, 1 << 24) * static_cast<double>(1LL << 30));
  }
  if (const auto v = json.find("gpu_hour_price")) c.gpu_hour_price = v->positive_number();
  if (const auto v = json.find("gb_hour_price")) c.gb_hour_price = v->non_negative_number();
  c.keep_alive = json.find("keep_alive");
  if (c.keep_alive) make_keep_alive(c.keep_alive);  // reject a bad keep-alive while reading the scenario
  return c;
}

}  // namespace moesim::models
