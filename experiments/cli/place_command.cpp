// moesim place: one placement from given expert loads, without a simulation.
#include <fmt/format.h>
#include <iostream>
#include <numeric>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "experiments/cli/command.h"
#include "models/catalog.h"
#include "experiments/run/policy_spec.h"
#include "policies/registry.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/json_input.h"
#include "traces/routing_stats.h"

namespace moesim::cli {
namespace {

// Loads from {"weight": [[...], ...]} (EPLB's example layout) or counted from a routing trace.
policies::Loads read_loads(const std::string& path) {
  if (path.size() > 6 && path.substr(path.size() - 6) == ".moert") {
    const auto stats = traces::compute_routing_stats(path);
    policies::Loads loads;
    for (const auto& row : stats.load) loads.emplace_back(row.begin(), row.end());
    return loads;
  }
  const JsonInput root = JsonInput::load_file(path);
  const JsonInput weight = root.at("weight");
  policies::Loads loads;
  for (const JsonInput& row : weight.items()) {
    loads.emplace_back();
    for (const JsonInput& x : row.items()) loads.back().push_back(x.non_negative_number());
    row.check(loads.back().size() == loads.front().size(), fmt::format("{} experts like the first layer", loads.front().size()));
  }
  weight.check(!loads.empty() && !loads.front().empty(), "a non-empty [layers][experts] array");
  return loads;
}

// Time of n tokens of one expert on GPU g for the linear model f(n) = n / speed_g.
class LinearTime final : public policies::ExpertTimeModel {
 public:
  explicit LinearTime(std::vector<double> speed) : speed_(std::move(speed)) {}
  double seconds(int g, double tokens) const override { return tokens / speed_[static_cast<std::size_t>(g)]; }

 private:
  std::vector<double> speed_;
};

}  // namespace

int run_place(const std::vector<std::string>& args) {
  CommandParser parser("place", "--policy <name[:param=value...]> --loads <loads.json|trace.moert> --gpus P [options]",
                       "Computes one placement from per-layer expert loads without simulating, and reports its\n"
                       "quality: per-GPU load max/mean per layer and, with --speeds, the speed-weighted makespan\n"
                       "max_g Σ load / speed_g (ViBE's objective with the linear model f(n) = n).\n"
                       "Loads: {\"weight\": [[...], ...]} (layers × experts) or a routing trace to count.\n"
                       "Policy parameters as in compare: eplb:replicas=16:groups=4 with --nodes 2 calls\n"
                       "rebalance_experts as its README does (moesim policies lists every parameter).");
  std::string policy;
  std::string loads_path;
  std::string speeds_text;
  std::string output;
  int gpus = 0;
  int nodes = 1;
  parser.add_options()("policy", po::value(&policy), "placement policy and parameters (moesim policies)")(
      "loads", po::value(&loads_path), "expert loads")("gpus", po::value(&gpus), "GPUs")(
      "nodes", po::value(&nodes)->default_value(nodes), "nodes (hierarchical policies: eplb)")(
      "speeds", po::value(&speeds_text), "comma-separated relative GPU speeds (1 = nominal)")(
      "output,o", po::value(&output), "write the placement as JSON (phy2log, logcnt)");
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (policy.empty() || loads_path.empty()) throw UsageError("--policy and --loads are required");
  if (gpus < 1) throw UsageError("--gpus must be at least 1");
  if (nodes < 1) throw UsageError("--nodes must be at least 1");
  const run::PolicySpec spec = run::parse_policy_spec(policy);
  const auto placement_policy = policies::make_placement(spec.name, spec.params);
  const policies::Loads loads = read_loads(loads_path);
  const int experts = static_cast<int>(loads.front().size());
  std::vector<double> speed(static_cast<std::size_t>(gpus), 1.0);
  if (!speeds_text.empty()) {
    speed = parse_number_list("speeds", speeds_text);
    if (static_cast<int>(speed.size()) != gpus) throw UsageError(fmt::format("--speeds needs {} values (one per GPU)", gpus));
    for (double s : speed) {
      if (!(s > 0)) throw UsageError("--speeds must be positive");
    }
  }
  models::MoeModel model = models::load_moe_model("mixtral-8x7b");  // a shape to carry layers × experts
  model.name = "loads";
  model.layers = static_cast<int>(loads.size());
  model.first_moe_layer = 0;
  model.moe_layer_step = 1;
  model.experts = experts;
  model.top_k = 1;
  LinearTime time(speed);
  policies::PlacementContext c;
  c.model = &model;
  c.gpus = gpus;
  c.nodes = nodes;
  c.loads = loads;
  c.batch_tokens = 0.0;
  for (double x : loads[0]) c.batch_tokens += x;
  c.time_model = &time;
  const models::ExpertPlacement placement = placement_policy->place(c);
  // A slot-based policy (EPLB) keeps its own slot order in phy2log, as its
  // reference code prints it; any other lists each GPU's copies in GPU order.
  std::vector<std::vector<int>> phy2log = placement.slots;
  // Replica counts and per-GPU load (each copy serves an equal share of its expert).
  std::vector<std::vector<int>> logcnt;
  std::vector<std::vector<double>> gpu_load(loads.size(), std::vector<double>(static_cast<std::size_t>(gpus), 0.0));
  for (std::size_t l = 0; l < loads.size(); ++l) {
    std::vector<std::vector<int>> on_gpu(static_cast<std::size_t>(gpus));
    logcnt.emplace_back();
    for (std::size_t e = 0; e < placement.replicas[l].size(); ++e) {
      const auto& copies = placement.replicas[l][e];
      logcnt.back().push_back(static_cast<int>(copies.size()));
      for (int g : copies) {
        on_gpu[static_cast<std::size_t>(g)].push_back(static_cast<int>(e));
        gpu_load[l][static_cast<std::size_t>(g)] += loads[l][e] / static_cast<double>(copies.size());
      }
    }
    if (phy2log.size() <= l) {
      phy2log.emplace_back();
      for (const auto& slots : on_gpu) phy2log.back().insert(phy2log.back().end(), slots.begin(), slots.end());
    }
  }
  std::cout << fmt::format("{} on {} GPUs: {} layers × {} experts from {}\n\n", spec.text, gpus, loads.size(), experts, loads_path);
  std::cout << "layer  load max/mean  speed-weighted makespan  phy2log (slots in GPU order)\n";
  nlohmann::ordered_json j{{"policy", spec.text}, {"gpus", gpus}, {"phy2log", phy2log}, {"logcnt", logcnt}};
  for (std::size_t l = 0; l < loads.size(); ++l) {
    const auto& g = gpu_load[l];
    const double mean = std::accumulate(g.begin(), g.end(), 0.0) / gpus;
    double makespan = 0.0;
    for (int i = 0; i < gpus; ++i) makespan = std::max(makespan, g[static_cast<std::size_t>(i)] / speed[static_cast<std::size_t>(i)]);
    const double ratio = mean > 0 ? *std::max_element(g.begin(), g.end()) / mean : 0.0;
    j["max_over_mean"].push_back(ratio);
    j["makespan"].push_back(makespan);
    std::cout << fmt::format("{:>5}  {:>13.3f}  {:>23.1f}  {}\n", l, ratio, makespan, fmt::join(phy2log[l], " "));
  }
  if (!output.empty()) {
    write_file_atomic(output, j.dump(2) + "\n");
    std::cout << "JSON: " << output << "\n";
  }
  return 0;
}

}  // namespace moesim::cli
