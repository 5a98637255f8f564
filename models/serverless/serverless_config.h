#pragma once
// The serverless expert runtime's settings (docs/serverless.md): where a cold
// instance's weights come from, runtime initialisation, the per-GPU memory pool for
// instances, keep-alive, and prices. Read from a scenario's "serverless" object;
// defaults and their sources: docs/serverless.md.
#include <cstdint>
#include <optional>
#include <string>

#include "models/moe_model.h"
#include "util/json_input.h"
#include "util/settings.h"
#include "sim/time.h"

namespace moesim::models {

enum class WeightSource {
  kHost,    // host memory over the GPU's PCIe path
  kPeer,    // a warm copy on another GPU over NVLink/PCIe when there is one, else host
  kRemote,  // remote storage: a shared link of `remote_bytes_per_s`, then host → GPU
};
std::string weight_source_name(WeightSource s);

struct ServerlessConfig {
  WeightSource source = WeightSource::kHost;
  double remote_bytes_per_s = 25e9 / 8;  // a 25 Gb/s NIC to object storage
  sim::Time remote_latency = sim::milliseconds(1);
  sim::Time init_time = 0;               // runtime initialisation once the weights land
  sim::Time reservation = sim::seconds(1);  // an instance prepared ahead of use is not evicted or reclaimed this long
  std::int64_t pool_bytes = 0;           // per GPU for instances; 0: default_pool_bytes()
  // Pay-per-use billing: each invocation (an instance's load, or its execution for
  // one layer) is billed rounded up to `billing_granularity` and at least
  // `billing_minimum`. Default: AWS Lambda's 1 ms rounding (since Dec 2020), no minimum.
  sim::Time billing_granularity = sim::milliseconds(1);
  sim::Time billing_minimum = 0;
  double gpu_hour_price = 1.0;           // $ per GPU-hour (1.0: costs read as GPU-hours)
  double gb_hour_price = 0.0;            // $ per GB-hour of instance memory
  std::optional<JsonInput> keep_alive;   // see make_keep_alive()
};

// Static EP's expert bytes per GPU (all experts once, spread evenly) × 1.5: room
// for replicas of hot experts and for instances loaded ahead of use.
std::int64_t default_pool_bytes(const MoeModel& m, int gpus);

// One invocation's billed time under the config's rounding (0 for no work).
sim::Time billed_time(sim::Time used, const ServerlessConfig& config);

// Each setting declared once; defaults are the member initialisers above.
const util::Settings<ServerlessConfig>& serverless_settings();
ServerlessConfig parse_serverless_config(const JsonInput& json);
// The settings as parse_serverless_config reads them back (keep_alive as given, or
// the default fixed 600 s).
nlohmann::ordered_json to_json(const ServerlessConfig& config);

}  // namespace moesim::models
