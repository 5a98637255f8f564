#include "experiments/run/scenario.h"

#include <fmt/format.h>

#include "models/catalog.h"

namespace moesim::run {

std::vector<std::string> placement_names() { return {"static-contiguous", "static-round-robin"}; }

namespace {

nlohmann::ordered_json lengths_json(const models::TokenLengths& t) {
  return {{"mean", t.mean}, {"cv", t.cv}, {"min", t.min}, {"max", t.max}};
}

// The arrivals as resolved, labelled real or synthetic.
nlohmann::ordered_json arrivals_json(const models::ArrivalSpec& a) {
  nlohmann::ordered_json j{{"kind", a.from_trace() ? "trace (real)" : a.kind + " (synthetic)"}, {"count", a.count}};
  if (a.from_trace()) {
    j["path"] = a.trace_path;
    j["format"] = a.trace_format;
    j["time_scale"] = a.time_scale;
    return j;
  }
  j["mean_rate_per_s"] = a.mean_rate_per_s();
  if (a.kind == "gamma") j["cv"] = a.cv;
  for (const auto& st : a.states) j["states"].push_back({{"rate_per_s", st.rate_per_s}, {"mean_dwell_s", st.mean_dwell_s}});
  j["input_tokens"] = lengths_json(a.input);
  j["output_tokens"] = lengths_json(a.output);
  return j;
}

}  // namespace

Scenario parse_scenario(const JsonInput& json) {
  Scenario s;
  s.name = json.string_or("name", "scenario");
  if (const auto seed = json.find("seed")) s.seed = static_cast<std::uint64_t>(seed->integer_at_least(0));
  const JsonInput model = json.at("model");
  s.model = models::load_moe_model(model.string(), model.where());
  const JsonInput cluster = json.at("cluster");
  const JsonInput gpu = cluster.at("gpu");
  s.gpu = models::load_gpu_profile(gpu.string(), gpu.where());
  s.topology = models::parse_topology_options(cluster.at("topology"));
  if (const auto v = cluster.find("variability")) s.variability = models::parse_gpu_variability(*v);
  const JsonInput workload = json.at("workload");
  s.arrivals = models::parse_arrivals(workload.at("arrivals"));
  s.duration_s = workload.number_or("duration_s", s.duration_s);
  workload.check(s.duration_s > 0.0, "duration_s > 0");
  if (const auto routing = workload.find("routing")) {
    const std::string kind = routing->string_or("kind", "zipf");
    if (kind == "trace" || kind == "marginals") {
      (kind == "trace" ? s.routing_trace : s.routing_marginals) = routing->at("path").path_relative_to_source();
      if (const auto corr = routing->find("correlations"); corr && kind == "marginals") {
        // Either fitted from a real per-token trace, or given as lifts.
        if (const auto from = corr->find("fit_from")) {
          s.routing_correlations = models::fit_correlations(from->path_relative_to_source());
        } else {
          s.routing_correlations.locality_lift = corr->at("locality_lift").number_in(0.0, 1.0);
          s.routing_correlations.cross_layer_lift = corr->at("cross_layer_lift").number_in(0.0, 1.0);
        }
      } else if (corr) {
        corr->fail("correlations apply to routing kind 'marginals' only");
      }
    } else if (kind == "zipf") {
      s.routing_skew = routing->number_or("skew", 1.0);
      routing->check(s.routing_skew >= 0.0, "skew >= 0");
    } else {
      routing->at("kind").fail(fmt::format("unknown routing kind '{}' (known: zipf, trace, marginals)", kind));
    }
  }
  if (const auto serving = json.find("serving")) s.serving = models::parse_serving_config(*serving);
  if (const auto placement = json.find("placement")) {
    const JsonInput policy = placement->at("policy");
    s.placement = policy.string();
    bool known = false;
    for (const auto& p : placement_names()) known = known || p == s.placement;
    if (!known) {
      policy.fail(fmt::format("unknown placement policy '{}' (known: {})", s.placement, fmt::join(placement_names(), ", ")));
    }
  }
  if (const auto slo = json.find("slo")) {
    s.slo.ttft_s = slo->at("ttft_ms").positive_number() / 1e3;
    s.slo.tpot_s = slo->at("tpot_ms").positive_number() / 1e3;
  }
  s.resolved = {{"name", s.name},
                {"seed", s.seed},
                {"model", s.model.name},
                {"cluster",
                 {{"gpu", s.gpu.name},
                  {"topology", {{"preset", s.topology.preset}, {"machines", s.topology.machines},
                                {"nvlink_bridges", s.topology.nvlink_bridges}}},
                  {"variability", {{"spread", s.variability.spread},
                                   {"outlier_probability", s.variability.outlier_probability},
                                   {"outlier_range", {s.variability.outlier_low, s.variability.outlier_high}},
                                   {"memory_coupling", s.variability.memory_coupling},
                                   {"drift_episodes_per_hour", s.variability.drift.episodes_per_hour}}}}},
                {"workload",
                 {{"duration_s", s.duration_s},
                  {"arrivals", arrivals_json(s.arrivals)},
                  {"routing", !s.routing_trace.empty()
                                  ? nlohmann::ordered_json{{"kind", "trace (real)"}, {"path", s.routing_trace}}
                                  : !s.routing_marginals.empty()
                                        ? nlohmann::ordered_json{{"kind", "marginals (real marginals, modelled correlations)"},
                                                                 {"path", s.routing_marginals},
                                                                 {"locality_lift", s.routing_correlations.locality_lift},
                                                                 {"cross_layer_lift", s.routing_correlations.cross_layer_lift},
                                                                 {"fitted_from", s.routing_correlations.fitted_from}}
                                        : nlohmann::ordered_json{{"kind", "zipf (synthetic)"}, {"skew", s.routing_skew}}}}},
                {"serving", {{"max_batched_tokens", s.serving.max_batched_tokens},
                             {"max_running_requests", s.serving.max_running_requests},
                             {"prefill_chunk", s.serving.prefill_chunk},
                             {"collective_overhead_ns", s.serving.collective_overhead},
                             {"activation_reserve_bytes", s.serving.activation_reserve_bytes}}},
                {"placement", {{"policy", s.placement}}},
                {"slo", {{"ttft_ms", s.slo.ttft_s * 1e3}, {"tpot_ms", s.slo.tpot_s * 1e3}}}};
  return s;
}

Scenario load_scenario(const std::string& path) { return parse_scenario(JsonInput::load_file(path)); }

}  // namespace moesim::run
