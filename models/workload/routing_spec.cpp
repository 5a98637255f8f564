#include "models/workload/routing_spec.h"

#include <fmt/format.h>

#include "models/workload/trace_routing_source.h"
#include "traces/expert_popularity.h"

namespace moesim::models {

RoutingSpec parse_routing_spec(const JsonInput& routing) {
  RoutingSpec s;
  const std::string kind = routing.has("kind") ? routing.at("kind").choice({"zipf", "trace", "marginals"}) : "zipf";
  if (kind == "trace" || kind == "marginals") {
    (kind == "trace" ? s.trace : s.marginals) = routing.at("path").path_relative_to_source();
    if (const auto corr = routing.find("correlations"); corr && kind == "marginals") {
      // Either fitted from a real per-token trace, or given as lifts.
      if (const auto from = corr->find("fit_from")) {
        s.correlations = fit_correlations(from->path_relative_to_source());
      } else {
        s.correlations.locality_lift = corr->at("locality_lift").number_in(0.0, 1.0);
        s.correlations.cross_layer_lift = corr->at("cross_layer_lift").number_in(0.0, 1.0);
      }
    } else if (corr) {
      corr->fail("correlations apply to routing kind 'marginals' only");
    }
  } else {
    s.skew = routing.number_or("skew", s.skew);
    routing.check(s.skew >= 0.0, "skew >= 0");
  }
  return s;
}

std::string RoutingSpec::label() const {
  if (!trace.empty()) return "trace (real)";
  if (!marginals.empty()) return "marginals (real marginals, modelled correlations)";
  return "zipf (synthetic)";
}

nlohmann::ordered_json to_json(const RoutingSpec& spec) {
  if (!spec.trace.empty()) return {{"comment", spec.label()}, {"kind", "trace"}, {"path", spec.trace}};
  if (!spec.marginals.empty()) {
    // Fitted correlations are echoed as their source (refitting gives the same lifts
    // and keeps the provenance in the labels), the fit in the comment.
    const auto& c = spec.correlations;
    nlohmann::ordered_json correlations =
        c.fitted_from.empty() ? nlohmann::ordered_json{{"locality_lift", c.locality_lift}, {"cross_layer_lift", c.cross_layer_lift}}
                              : nlohmann::ordered_json{{"fit_from", c.fitted_from}};
    return {{"comment", fmt::format("{}; locality lift {}, cross-layer lift {}", spec.label(), c.locality_lift,
                                    c.cross_layer_lift)},
            {"kind", "marginals"},
            {"path", spec.marginals},
            {"correlations", correlations}};
  }
  return {{"comment", spec.label()}, {"kind", "zipf"}, {"skew", spec.skew}};
}

std::unique_ptr<RoutingSource> RoutingSpec::make(const MoeModel& model, sim::Rng rng) const {
  if (!trace.empty()) return std::make_unique<TraceRoutingSource>(model, trace);
  if (!marginals.empty()) {
    return std::make_unique<MarginalRoutingSource>(model, traces::read_expert_popularity(marginals), marginals,
                                                           std::move(rng), correlations);
  }
  return std::make_unique<ZipfRoutingSource>(model, skew, std::move(rng));
}

}  // namespace moesim::models
