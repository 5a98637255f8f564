#pragma once
// Settings of the expert-offloading model (docs/offload.md): how many experts the
// GPU's expert cache holds, where the others live (pinned or pageable host memory,
// or an NVMe SSD) and what a copy from there costs, and whether copies overlap with
// compute. Every default and its source: docs/offload.md.
#include <cstdint>
#include <optional>
#include <string>

#include "models/gpu_profile.h"
#include "models/moe_model.h"
#include "util/json_input.h"
#include "util/settings.h"
#include "sim/time.h"

namespace moesim::models {

enum class ExpertHome { kHostPinned, kHostPageable, kSsd };
std::string expert_home_name(ExpertHome home);

struct OffloadConfig {
  // Cache capacity in experts; 0 = what GPU memory leaves after the dense weights,
  // the activation reserve and one request's KV cache (resolve_cache_experts()).
  int cache_experts = 0;
  ExpertHome home = ExpertHome::kHostPinned;
  // A pageable copy is staged through a pinned bounce buffer by the driver, so it
  // runs below the link rate; the cap applies to the whole copy.
  double pageable_bytes_per_s = 11e9;
  double ssd_bytes_per_s = 7e9;          // NVMe read, in series with the host link
  sim::Time ssd_latency = 100'000;       // per read request
  // Per copy: driver call + DMA set-up (ns); unset: the topology's fitted start-up of
  // the host -> GPU path (Topology::transfer_startup).
  std::optional<sim::Time> copy_overhead;
  bool overlap = true;                   // copies on their own stream, beside compute
  int prefetch_in_flight = 1;            // prefetch copies outstanding at once
  // A prefetch copies an expert tensor by tensor (gate, up, down: 3 copies); between
  // tensors it yields to on-demand copies and is cancelled when no longer wanted.
  int prefetch_chunks = 3;
  std::int64_t activation_reserve_bytes = std::int64_t{1} << 30;
  std::int64_t max_context_tokens = 4096;  // KV cache reserved for one request
};

// Reads {"cache_experts": N | "cache_fraction": f | "cache_bytes": B, "home": ...}.
// A cache smaller than one expert, or zero/negative bandwidths, are errors naming
// the field and both numbers.
OffloadConfig parse_offload_config(const JsonInput& json, const MoeModel& model, const GpuProfile& gpu);
// The settings besides the cache size, each declared once (defaults: the member
// initialisers above).
const util::Settings<OffloadConfig>& offload_settings();
// The config as parse_offload_config reads it back (the cache as cache_experts).
nlohmann::ordered_json to_json(const OffloadConfig& config);

// Bytes of everything but the routed experts (attention, embeddings, gates, shared experts).
std::int64_t dense_weight_bytes(const MoeModel& model);

// Experts that fit beside the dense weights, activations and one request's KV cache;
// InputError naming the GPU and the numbers when not even one does.
int memory_cache_experts(const MoeModel& model, const GpuProfile& gpu, const OffloadConfig& config);

}  // namespace moesim::models
