#include "experiments/workflows/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "util/text_table.h"
#include "experiments/run/run_metrics.h"
#include "experiments/workflows/parallel.h"
#include "models/catalog.h"
#include "models/topology.h"
#include "util/errors.h"
#include "util/json_input.h"

namespace moesim::workflows {

PlanSpec load_plan_spec(const std::string& path) {
  const JsonInput json = JsonInput::load_file(path);
  PlanSpec spec;
  spec.source = path;
  spec.scenario = load_scenario_document(json.at("scenario").path_relative_to_source());
  const JsonInput slo = json.at("slo");
  spec.slo.ttft_p90_ms = slo.at("ttft_p90_ms").duration(1e-3);
  spec.slo.tpot_p90_ms = slo.at("tpot_p90_ms").duration(1e-3);
  for (const auto& p : json.at("policies").items()) {
    spec.policies.push_back(p.string());
    try {
      run::check_placement(spec.policies.back(), std::nullopt);
    } catch (const InputError& e) {
      p.fail(e.what());
    }
  }
  json.at("policies").check(!spec.policies.empty(), "a non-empty list of placement policies");
  for (const auto& c : json.at("candidates").items()) {
    PlanCandidate candidate;
    candidate.gpu = c.at("gpu").string();
    models::load_gpu_profile(candidate.gpu, c.at("gpu").where());  // unknown GPUs fail here
    const JsonInput topology = c.at("topology");
    candidate.topology = topology.raw().is_string() ? nlohmann::json{{"preset", topology.string()}} : topology.raw();
    candidate.topology["machines"] = 1;
    models::parse_topology_options(JsonInput::parse(candidate.topology.dump(), topology.where()));
    candidate.usd_per_gpu_hour = c.at("usd_per_gpu_hour").positive_number();
    candidate.max_machines = static_cast<int>(c.at("max_machines").integer_in(1, 1024));
    if (const auto sizes = c.find("instance_gpus")) {
      for (const auto& size : sizes->items()) candidate.instance_gpus.push_back(static_cast<int>(size.integer_in(1, 1 << 20)));
      sizes->check(!candidate.instance_gpus.empty(), "a non-empty list of GPUs per instance (EP sizes)");
    }
    if (const auto shares = c.find("prefill_shares")) {
      for (const auto& share : shares->items()) {
        candidate.prefill_shares.push_back(share.number_in(0.0, 1.0));
        share.check(candidate.prefill_shares.back() < 1.0, "a share in [0, 1): the decode pool needs instances too");
      }
      shares->check(!candidate.prefill_shares.empty(), "a non-empty list of prefill-pool shares");
      shares->check(!candidate.instance_gpus.empty(), "instance_gpus beside it (the size of every pool's instances)");
    }
    spec.candidates.push_back(std::move(candidate));
  }
  json.at("candidates").check(!spec.candidates.empty(), "a non-empty list of GPU candidates");
  return spec;
}

namespace {

// One search of the plan: a GPU candidate, a policy, an instance size (0: one
// instance) and a prefill-pool share (0: colocated).
struct Search {
  const PlanCandidate* candidate;
  std::string policy;
  int instance_gpus;
  double prefill_share = 0.0;
};

PlanPoint evaluate(const PlanSpec& spec, const Search& search, int machines) {
  const PlanCandidate& c = *search.candidate;
  PlanPoint p;
  p.gpu = c.gpu;
  p.policy = search.policy;
  p.machines = machines;
  p.instance_gpus = search.instance_gpus;
  nlohmann::json topology = c.topology;
  topology["machines"] = machines;
  p.gpus = models::topology_gpu_count(models::parse_topology_options(JsonInput::parse(topology.dump(), spec.source)));
  p.usd_per_hour = p.gpus * c.usd_per_gpu_hour;
  ScenarioDocument doc = spec.scenario;
  doc.json["cluster"]["gpu"] = c.gpu;
  doc.json["cluster"]["topology"] = topology;
  // The searched layout replaces the scenario's; without one, one instance of whatever the cluster has.
  doc.json["cluster"].erase("pools");
  doc.json["cluster"].erase("instances");
  if (p.instance_gpus > 0) {
    if (p.gpus % p.instance_gpus != 0) {
      p.error = fmt::format("instances of {} GPUs do not tile {} GPUs", p.instance_gpus, p.gpus);
      return p;
    }
    const int count = p.gpus / p.instance_gpus;
    if (search.prefill_share > 0.0) {
      p.prefill_share = search.prefill_share;
      if (count < 2) {
        p.error = fmt::format("one instance of {} GPUs cannot be split into prefill and decode pools", p.instance_gpus);
        return p;
      }
      p.prefill_instances = std::clamp(static_cast<int>(std::lround(search.prefill_share * count)), 1, count - 1);
      doc.json["cluster"]["pools"] = {{"prefill", {{"count", p.prefill_instances}, {"gpus", p.instance_gpus}}},
                                      {"decode", {{"count", count - p.prefill_instances}, {"gpus", p.instance_gpus}}}};
    } else {
      doc.json["cluster"]["instances"] = {{"count", count}, {"gpus", p.instance_gpus}};
    }
  }
  try {
    const auto columns =
        run::metric_columns(run::run_scenario(make_variant(doc, Overrides{{}, search.policy, std::nullopt})));
    p.ttft_p90_ms = run::metric_value(columns, "ttft_p90_ms");
    p.tpot_p90_ms = run::metric_value(columns, "tpot_p90_ms");
    p.slo_attainment = run::metric_value(columns, "slo_attainment");
    p.meets = p.ttft_p90_ms <= spec.slo.ttft_p90_ms && p.tpot_p90_ms <= spec.slo.tpot_p90_ms;
  } catch (const InputError& e) {
    p.error = e.what();  // too few GPUs to hold the model is an answer, not a failure
  }
  return p;
}

// Smallest machine count in [1, max] that meets the SLOs, evaluating O(log max) counts.
std::vector<PlanPoint> bisect(const PlanSpec& spec, const Search& search) {
  std::map<int, PlanPoint> seen;
  auto at = [&](int machines) -> const PlanPoint& {
    auto it = seen.find(machines);
    if (it == seen.end()) it = seen.emplace(machines, evaluate(spec, search, machines)).first;
    return it->second;
  };
  // Some policies cannot use every size (e.g. more GPUs than expert slots): halve
  // the ceiling until the cluster can run at all.
  int ceiling = search.candidate->max_machines;
  while (ceiling > 1 && !at(ceiling).error.empty()) ceiling /= 2;
  if (at(ceiling).meets) {
    int lo = 0;  // fails (or 0 = nothing)
    int hi = ceiling;  // meets
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      (at(mid).meets ? hi : lo) = mid;
    }
  }
  std::vector<PlanPoint> out;
  for (auto& [m, p] : seen) out.push_back(std::move(p));
  return out;
}

}  // namespace

PlanResult run_plan(const PlanSpec& spec, int threads) {
  std::vector<Search> searches;
  for (const auto& c : spec.candidates) {
    for (const auto& p : spec.policies) {
      if (c.instance_gpus.empty()) searches.push_back({&c, p, 0});
      for (const int size : c.instance_gpus) {
        if (c.prefill_shares.empty()) searches.push_back({&c, p, size});
        for (const double share : c.prefill_shares) searches.push_back({&c, p, size, share});
      }
    }
  }
  std::vector<std::vector<PlanPoint>> found(searches.size());
  parallel_for(searches.size(), threads, [&](std::size_t i) { found[i] = bisect(spec, searches[i]); });
  PlanResult r;
  for (std::size_t i = 0; i < searches.size(); ++i) {
    r.exhaustive_runs += searches[i].candidate->max_machines;
    for (auto& p : found[i]) r.points.push_back(std::move(p));
  }
  r.runs = static_cast<int>(r.points.size());
  std::stable_sort(r.points.begin(), r.points.end(), [](const PlanPoint& a, const PlanPoint& b) {
    return a.usd_per_hour != b.usd_per_hour ? a.usd_per_hour < b.usd_per_hour : a.slo_attainment > b.slo_attainment;
  });
  double best_attainment = -1.0;
  for (std::size_t i = 0; i < r.points.size(); ++i) {
    PlanPoint& p = r.points[i];
    if (!p.error.empty()) continue;
    p.on_frontier = p.slo_attainment > best_attainment;  // cheapest first: frontier = new attainment record
    best_attainment = std::max(best_attainment, p.slo_attainment);
    if (p.meets && !r.cheapest) r.cheapest = i;
    if (p.slo_attainment > r.points[r.best].slo_attainment || !r.points[r.best].error.empty()) r.best = i;
  }
  return r;
}

namespace {

// "1 × EP 8" style: instances × GPUs each; "1P + 3D × EP 4" with disaggregated pools.
std::string instances_label(const PlanPoint& p) {
  const int size = p.instance_gpus > 0 ? p.instance_gpus : p.gpus;
  if (size <= 0 || p.gpus % size != 0) return fmt::format("EP {}", size);
  if (p.prefill_instances > 0) {
    return fmt::format("{}P + {}D × EP {}", p.prefill_instances, p.gpus / size - p.prefill_instances, size);
  }
  return fmt::format("{} × EP {}", p.gpus / size, size);
}

}  // namespace

std::string format_plan(const PlanSpec& spec, const PlanResult& r) {
  util::TextTable t({"GPU", "machines", "GPUs", "instances", "policy", "$/hour", "P90 TTFT ms", "P90 TPOT ms", "SLO attainment",
                       "meets", "frontier"});
  for (const auto& p : r.points) {
    if (!p.error.empty()) {
      t.add_row({p.gpu, fmt::format("{}", p.machines), fmt::format("{}", p.gpus), instances_label(p), p.policy,
                 fmt::format("{:.2f}", p.usd_per_hour), "-", "-", "-", "cannot run", ""});
      continue;
    }
    t.add_row({p.gpu, fmt::format("{}", p.machines), fmt::format("{}", p.gpus), instances_label(p), p.policy,
               fmt::format("{:.2f}", p.usd_per_hour), fmt::format("{:.1f}", p.ttft_p90_ms),
               fmt::format("{:.2f}", p.tpot_p90_ms), fmt::format("{:.1f}%", 100 * p.slo_attainment),
               p.meets ? "yes" : "no", p.on_frontier ? "*" : ""});
  }
  std::string out = fmt::format("plan: {} — SLOs P90 TTFT ≤ {:g} ms, P90 TPOT ≤ {:g} ms\n\n", spec.scenario.path,
                                spec.slo.ttft_p90_ms, spec.slo.tpot_p90_ms);
  out += t.render();
  out += fmt::format("\n{} runs by bisection over machine counts ({} if every count were tried)\n", r.runs, r.exhaustive_runs);
  if (r.cheapest) {
    const PlanPoint& p = r.points[*r.cheapest];
    out += fmt::format("cheapest meeting the SLOs: {} × {} ({} machine(s), {}), policy {}, ${:.2f}/hour "
                       "(P90 TTFT {:.1f} ms, P90 TPOT {:.2f} ms)\n",
                       p.gpus, p.gpu, p.machines, instances_label(p), p.policy, p.usd_per_hour, p.ttft_p90_ms,
                       p.tpot_p90_ms);
  } else if (!r.points.empty() && r.points[r.best].error.empty()) {
    const PlanPoint& p = r.points[r.best];
    out += fmt::format("no candidate meets the SLOs; best found: {} × {}, policy {}, ${:.2f}/hour "
                       "(P90 TTFT {:.1f} ms, P90 TPOT {:.2f} ms, attainment {:.1f}%)\n",
                       p.gpus, p.gpu, p.policy, p.usd_per_hour, p.ttft_p90_ms, p.tpot_p90_ms, 100 * p.slo_attainment);
  } else {
    out += "no candidate meets the SLOs; none could even run the model (see the errors in plan.json)\n";
  }
  return out;
}

namespace {

nlohmann::ordered_json point_json(const PlanPoint& p) {
  nlohmann::ordered_json j{{"gpu", p.gpu},           {"policy", p.policy},
                           {"machines", p.machines}, {"gpus", p.gpus},
                           {"instance_gpus", p.instance_gpus > 0 ? p.instance_gpus : p.gpus},
                           {"usd_per_hour", p.usd_per_hour}};
  if (p.prefill_share > 0.0) {
    j["prefill_share"] = p.prefill_share;
    j["prefill_instances"] = p.prefill_instances;
  }
  if (!p.error.empty()) {
    j["error"] = p.error;
    return j;
  }
  j["ttft_p90_ms"] = p.ttft_p90_ms;
  j["tpot_p90_ms"] = p.tpot_p90_ms;
  j["slo_attainment"] = p.slo_attainment;
  j["meets"] = p.meets;
  j["on_frontier"] = p.on_frontier;
  return j;
}

}  // namespace

std::string plan_json(const PlanSpec& spec, const PlanResult& r) {
  nlohmann::ordered_json j;
  j["plan"] = spec.source;
  j["scenario"] = spec.scenario.path;
  j["slo"] = {{"ttft_p90_ms", spec.slo.ttft_p90_ms}, {"tpot_p90_ms", spec.slo.tpot_p90_ms}};
  j["runs"] = r.runs;
  j["exhaustive_runs"] = r.exhaustive_runs;
  j["cheapest"] = r.cheapest ? point_json(r.points[*r.cheapest]) : nlohmann::ordered_json(nullptr);
  j["points"] = nlohmann::ordered_json::array();
  for (const auto& p : r.points) j["points"].push_back(point_json(p));
  return j.dump(2) + "\n";
}

std::string plan_csv(const PlanResult& r) {
  std::string out =
      "gpu,policy,machines,gpus,instance_gpus,prefill_instances,usd_per_hour,ttft_p90_ms,tpot_p90_ms,slo_attainment,meets,"
      "on_frontier,error\n";
  for (const auto& p : r.points) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}\n", p.gpu, p.policy, p.machines, p.gpus,
                       p.instance_gpus > 0 ? p.instance_gpus : p.gpus, p.prefill_instances, p.usd_per_hour,
                       p.error.empty() ? fmt::format("{}", p.ttft_p90_ms) : "",
                       p.error.empty() ? fmt::format("{}", p.tpot_p90_ms) : "",
                       p.error.empty() ? fmt::format("{}", p.slo_attainment) : "", p.meets ? 1 : 0, p.on_frontier ? 1 : 0,
                       p.error.empty() ? "" : "\"cannot run\"");
  }
  return out;
}

}  // namespace moesim::workflows
