// moesim catalog: the shipped model and GPU descriptions with derived quantities.
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "util/text_table.h"
#include "models/catalog.h"
#include "models/gpu_profile.h"
#include "models/op_costs.h"

namespace moesim::cli {
namespace {

void print_models() {
  util::TextTable t({"model", "layers (MoE)", "experts", "top-k", "shared", "expert [MiB]", "all experts [GiB]",
                       "total [B]", "active [B]", "KV/token [KiB]"});
  for (const std::string& name : models::builtin_names("models")) {
    const models::MoeModel m = models::load_moe_model(name);
    t.add_row({m.name, fmt::format("{} ({})", m.layers, m.moe_layer_count()), std::to_string(m.experts),
               std::to_string(m.top_k), std::to_string(m.shared_experts),
               fmt::format("{:.1f}", static_cast<double>(m.expert_bytes()) / (1 << 20)),
               fmt::format("{:.1f}", static_cast<double>(m.all_expert_bytes()) / (1 << 30)),
               fmt::format("{:.1f}", m.total_params() / 1e9), fmt::format("{:.1f}", m.active_params() / 1e9),
               fmt::format("{:.1f}", static_cast<double>(m.kv_cache_bytes_per_token()) / 1024)});
  }
  std::cout << "Models (weights in the model's dtype; sources in docs/models.md):\n" << t.render();
}

void print_gpus() {
  const models::MoeModel mixtral = models::load_moe_model("mixtral-8x7b");
  util::TextTable t({"gpu", "memory [GiB]", "HBM [TB/s]", "BF16 [TFLOP/s]", "eff. mem / compute",
                       "Mixtral expert @1 tok [µs]", "@4096 tok [µs]"});
  for (const std::string& name : models::builtin_names("gpus")) {
    const models::GpuProfile g = models::load_gpu_profile(name);
    const models::OpKey key = models::expert_ffn_key(mixtral);
    auto us = [&](double tokens) {
      return fmt::format("{:.1f}", sim::to_microseconds(g.op_time(key, tokens, models::expert_ffn_work(mixtral, tokens))));
    };
    t.add_row({g.name, fmt::format("{:.0f}", static_cast<double>(g.memory_bytes) / (1 << 30)),
               fmt::format("{:.2f}", g.hbm_bytes_per_s / 1e12), fmt::format("{:.1f}", g.peak_for("bf16") / 1e12),
               fmt::format("{:.2f} / {:.2f}", g.memory_efficiency, g.compute_efficiency), us(1), us(4096)});
  }
  std::cout << "GPU profiles (datasheet peaks; efficiencies are assumptions until calibrated):\n" << t.render();
}

}  // namespace

int run_catalog(const std::vector<std::string>& args) {
  CommandParser parser("catalog", "[models|gpus]",
                       "Lists the built-in MoE models and GPU profiles with derived quantities. A scenario may\n"
                       "name a built-in or give a path to its own .json file in the same format.");
  std::string what;
  parser.add_options()("what", po::value(&what), "models or gpus (default: both)");
  parser.add_positional("what", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (what.empty() || what == "models") print_models();
  if (what.empty()) std::cout << "\n";
  if (what.empty() || what == "gpus") print_gpus();
  if (!what.empty() && what != "models" && what != "gpus") {
    throw UsageError(fmt::format("unknown catalog '{}' (expected: models, gpus)", what));
  }
  return 0;
}

}  // namespace moesim::cli
