#pragma once
// Statistics of a routing trace — the signals placement and prediction policies
// live on:
//  * skew per MoE layer: max/mean expert load, coefficient of variation, Gini,
//    hottest experts;
//  * temporal stability: consecutive windows of W tokens (in trace order), cosine
//    similarity of their per-layer load vectors and recall of the window's top-h
//    experts by the previous window's (what EPLB / MoEless history predictors use);
//  * cross-layer predictability: predict a token's expert at layer l+1 from its
//    expert at layer l by the most frequent successor, fitted on the first half of
//    the requests and scored on the second, against always guessing layer l+1's
//    most popular expert (what MoEless' layer-aware predictor and MoE-Infinity use);
//  * per-request similarity: mean pairwise cosine similarity of requests' expert
//    activation matrices (layers × experts token counts);
//  * token locality: how often a token's primary (first-listed) expert at a layer
//    repeats the previous token's of the same request, against Σ p_e² (chance).
// The two correlation "lifts" normalise a hit rate h against its chance level c as
// (h − c) / (1 − c): 0 = no structure, 1 = fully determined. They are what the
// model-based routing source is fitted to (docs/traces.md).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "traces/routing_trace.h"

namespace moesim::traces {

struct LayerSkew {
  double max_over_mean = 0.0;
  double cv = 0.0;
  double gini = 0.0;
  std::vector<std::pair<int, double>> hottest;  // (expert, share of the layer's load), top 3
};

struct RoutingStats {
  RoutingTraceHeader header;
  std::uint64_t requests = 0;
  std::uint64_t steps = 0;
  std::uint64_t tokens = 0;
  std::uint64_t prefill_tokens = 0;
  std::vector<std::vector<std::uint64_t>> load;  // [layer][expert]
  std::vector<LayerSkew> layers;
  int window_tokens = 0;
  int top_h = 0;
  double temporal_cosine = 0.0;  // mean over layers and window pairs
  double temporal_top_recall = 0.0;
  double cross_layer_accuracy = 0.0;         // successor predictor, held-out half
  double cross_layer_popular_baseline = 0.0;  // most-popular-expert guess, held-out half
  double request_similarity = 0.0;
  std::uint64_t consecutive_pairs = 0;   // token pairs in one request, what token_repeat is measured on
  std::uint64_t cross_layer_scored = 0;  // held-out (token, layer) pairs cross_layer_accuracy is scored on
  double token_repeat = 0.0;           // mean over layers
  double token_repeat_chance = 0.0;    // mean over layers of Σ_e p_e² (primary experts)
  double locality_lift() const { return lift(token_repeat, token_repeat_chance); }
  double cross_layer_lift() const { return lift(cross_layer_accuracy, cross_layer_popular_baseline); }
  static double lift(double hit, double chance) { return chance < 1.0 ? (hit - chance) / (1.0 - chance) : 0.0; }
};

double gini(std::vector<double> values);

// Reads the whole file (streaming; request matrices are kept for the similarity).
RoutingStats compute_routing_stats(const std::string& path, int window_tokens = 256, int top_h = 8);
// The same over requests from any source: `next` fills its argument, false at the end.
RoutingStats compute_routing_stats(const RoutingTraceHeader& header, const std::function<bool(RequestRouting&)>& next,
                                   int window_tokens = 256, int top_h = 8);

std::string format_routing_stats(const RoutingStats& s);
std::string routing_stats_json(const RoutingStats& s);

}  // namespace moesim::traces
