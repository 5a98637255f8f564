#include "models/workload/routing_spec.h"

#include <fmt/format.h>

#include "models/workload/trace_routing_source.h"
#include "traces/expert_popularity.h"

namespace moesim::models {

RoutingSpec parse_routing_spec(const JsonInput& routing) {
  RoutingSpec s;
  const std::string kind = routing.string_or("kind", "zipf");
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
  } else if (kind == "zipf") {
    s.skew = routing.number_or("skew", 1.0);
    routing.check(s.skew >= 0.0, "skew >= 0");
  } else {
    routing.at("kind").fail(fmt::format("unknown routing kind '{}' (known: zipf, trace, marginals)", kind));
  }
  return s;
}

nlohmann::ordered_json RoutingSpec::resolved() const {
  if (!trace.empty()) return {{"kind", "trace (real)"}, {"path", trace}};
  if (!marginals.empty()) {
    return {{"kind", "marginals (real marginals, modelled correlations)"},
            {"path", marginals},
            {"locality_lift", correlations.locality_lift},
            {"cross_layer_lift", correlations.cross_layer_lift},
            {"fitted_from", correlations.fitted_from}};
  }
  return {{"kind", "zipf (synthetic)"}, {"skew", skew}};
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
