#include "traces/routing_stats.h"


#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <numeric>

#include "util/errors.h"
#include "traces/compact_routing.h"

namespace moesim::traces {
namespace {

// Request similarity compares all pairs of the first this many requests (docs/traces.md):
// quadratic in requests, so a trace of a million tiny requests does not run for days.
constexpr std::size_t kSimilarityRequests = 1000;

using SparseCounts = std::vector<std::pair<std::uint32_t, double>>;

// The distinct values of `keys` in ascending order, each with how often it occurs.
SparseCounts run_lengths(std::vector<std::uint32_t>& keys) {
  std::sort(keys.begin(), keys.end());
  SparseCounts out;
  for (std::size_t i = 0; i < keys.size();) {
    std::size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    out.emplace_back(keys[i], static_cast<double>(j - i));
    i = j;
  }
  return out;
}

// Σ x² over a vector's non-zeros in index order: the dense sum to the bit (the
// skipped terms are exact zeros).
double squared_norm(const SparseCounts& v) {
  double n = 0.0;
  for (const auto& [i, x] : v) n += x * x;
  return n;
}

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double dot = 0.0;
  double na = 0.0;
  double nb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0.0 && nb > 0.0 ? dot / std::sqrt(na * nb) : 0.0;
}

std::vector<int> top_experts(const std::vector<double>& load, int h) {
  std::vector<int> idx(load.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return load[static_cast<std::size_t>(a)] > load[static_cast<std::size_t>(b)]; });
  idx.resize(std::min<std::size_t>(idx.size(), static_cast<std::size_t>(h)));
  return idx;
}

// Per-token expert choices in trace order: tokens[i][layer] = first expert of token i.
struct TokenRow {
  std::uint64_t request;
  std::vector<std::uint16_t> expert;  // per layer (the token's first choice)
};

}  // namespace

double gini(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  double cum = 0.0;
  double weighted = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    cum += v[i];
    weighted += static_cast<double>(i + 1) * v[i];
  }
  return cum > 0.0 ? (2.0 * weighted) / (n * cum) - (n + 1.0) / n : 0.0;
}

RoutingStats compute_routing_stats(const std::string& path, int window_tokens, int top_h) {
  CompactRoutingReader reader(path);
  RoutingStats s =
      compute_routing_stats(reader.header(), [&](RequestRouting& r) { return reader.next(r); }, window_tokens, top_h);
  // Zeros from no data would read as a measurement of a perfectly flat routing.
  if (s.requests == 0) throw InputError(fmt::format("{}: the routing trace holds no requests; nothing to measure", path));
  return s;
}

RoutingStats compute_routing_stats(const RoutingTraceHeader& header, const std::function<bool(RequestRouting&)>& next,
                                   int window_tokens, int top_h) {
  RoutingStats s;
  s.header = header;
  s.window_tokens = window_tokens;
  s.top_h = top_h;
  const std::size_t L = s.header.moe_layers;
  const std::size_t E = s.header.experts;
  const std::size_t K = s.header.top_k;
  s.load.assign(L, std::vector<std::uint64_t>(E, 0));
  // Per request, its non-zero [layer * E + expert] counts in index order: memory
  // follows the trace's size, not requests × layers × experts.
  std::vector<SparseCounts> request_matrix;
  std::vector<TokenRow> rows;
  RequestRouting request;
  const RequestRouting* r = &request;
  while (next(request)) {
    ++s.requests;
    std::vector<std::uint32_t> cells;  // [layer * E + expert] of every routing decision
    for (std::size_t st = 0; st < r->steps.size(); ++st) {
      const RoutingStep& step = r->steps[st];
      ++s.steps;
      s.tokens += step.tokens;
      if (st == 0) s.prefill_tokens += step.tokens;
      for (std::uint32_t t = 0; t < step.tokens; ++t) {
        TokenRow row{s.requests - 1, std::vector<std::uint16_t>(L)};  // request ordinal
        for (std::size_t l = 0; l < L; ++l) {
          for (std::size_t k = 0; k < K; ++k) {
            const std::uint16_t e = step.experts[l][t * K + k];
            ++s.load[l][e];
            cells.push_back(static_cast<std::uint32_t>(l * E + e));
          }
          row.expert[l] = step.experts[l][t * K];
        }
        rows.push_back(std::move(row));
      }
    }
    if (request_matrix.size() < kSimilarityRequests) {
      request_matrix.push_back(run_lengths(cells));
    }
  }

  for (std::size_t l = 0; l < L; ++l) {
    std::vector<double> v(s.load[l].begin(), s.load[l].end());
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(E);
    double var = 0.0;
    for (double x : v) var += (x - mean) * (x - mean);
    LayerSkew k;
    k.max_over_mean = mean > 0 ? *std::max_element(v.begin(), v.end()) / mean : 0.0;
    k.cv = mean > 0 ? std::sqrt(var / static_cast<double>(E)) / mean : 0.0;
    k.gini = gini(v);
    const double total = mean * static_cast<double>(E);
    for (int e : top_experts(v, 3)) k.hottest.emplace_back(e, total > 0 ? v[static_cast<std::size_t>(e)] / total : 0.0);
    s.layers.push_back(std::move(k));
  }

  // Temporal stability over consecutive windows of tokens.
  const std::size_t windows = rows.size() / static_cast<std::size_t>(window_tokens);
  double cos_sum = 0.0;
  double recall_sum = 0.0;
  std::size_t pairs = 0;
  for (std::size_t l = 0; l < L; ++l) {
    std::vector<double> prev;
    for (std::size_t w = 0; w < windows; ++w) {
      std::vector<double> cur(E, 0.0);
      for (std::size_t i = w * window_tokens; i < (w + 1) * static_cast<std::size_t>(window_tokens); ++i) cur[rows[i].expert[l]] += 1.0;
      if (!prev.empty()) {
        cos_sum += cosine(prev, cur);
        const auto a = top_experts(prev, top_h);
        const auto b = top_experts(cur, top_h);
        std::size_t hit = 0;
        for (int e : b) hit += std::find(a.begin(), a.end(), e) != a.end() ? 1 : 0;
        recall_sum += static_cast<double>(hit) / static_cast<double>(b.size());
        ++pairs;
      }
      prev = std::move(cur);
    }
  }
  if (pairs > 0) {
    s.temporal_cosine = cos_sum / static_cast<double>(pairs);
    s.temporal_top_recall = recall_sum / static_cast<double>(pairs);
  }

  // Token locality: consecutive tokens of one request (rows are in request order).
  std::vector<std::vector<double>> primary(L, std::vector<double>(E, 0.0));
  std::vector<double> repeats(L, 0.0);
  double consecutive = 0.0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const bool follows = i > 0 && rows[i - 1].request == rows[i].request;
    consecutive += follows ? 1.0 : 0.0;
    for (std::size_t l = 0; l < L; ++l) {
      primary[l][rows[i].expert[l]] += 1.0;
      if (follows && rows[i - 1].expert[l] == rows[i].expert[l]) repeats[l] += 1.0;
    }
  }
  s.consecutive_pairs = static_cast<std::uint64_t>(consecutive);
  if (consecutive > 0 && !rows.empty()) {
    for (std::size_t l = 0; l < L; ++l) {
      s.token_repeat += repeats[l] / consecutive / static_cast<double>(L);
      for (double n : primary[l]) {
        const double p = n / static_cast<double>(rows.size());
        s.token_repeat_chance += p * p / static_cast<double>(L);
      }
    }
  }

  // Cross-layer predictability: fit on requests in the first half, score the rest.
  const std::uint64_t split = s.requests / 2;
  double hits = 0.0;
  double baseline = 0.0;
  double scored = 0.0;
  for (std::size_t l = 0; l + 1 < L; ++l) {
    // Successor counts only for the pairs seen (sorted pair keys, counted by runs):
    // memory follows the trace, not experts² (65,536 experts would need 34 GB dense).
    std::vector<std::uint32_t> pairs;
    std::vector<std::uint64_t> popular(E, 0);
    for (const TokenRow& row : rows) {
      if (row.request >= split) continue;
      pairs.push_back(static_cast<std::uint32_t>(row.expert[l] * E + row.expert[l + 1]));
      ++popular[row.expert[l + 1]];
    }
    // Per expert, its most frequent successor; ties go to the lowest id (0 if none
    // seen), as a first-maximum search over a dense row would.
    std::vector<std::size_t> best(E, 0);
    std::vector<double> best_count(E, 0.0);
    for (const auto& [pair, count] : run_lengths(pairs)) {
      const std::size_t e = pair / E;
      if (count > best_count[e]) {  // keys ascend, so an equal count never displaces a lower id
        best[e] = pair % E;
        best_count[e] = count;
      }
    }
    const auto most_popular = static_cast<std::size_t>(std::max_element(popular.begin(), popular.end()) - popular.begin());
    for (const TokenRow& row : rows) {
      if (row.request < split) continue;
      hits += best[row.expert[l]] == row.expert[l + 1] ? 1.0 : 0.0;
      baseline += most_popular == row.expert[l + 1] ? 1.0 : 0.0;
      scored += 1.0;
    }
  }
  s.cross_layer_scored = static_cast<std::uint64_t>(scored);
  if (scored > 0) {
    s.cross_layer_accuracy = hits / scored;
    s.cross_layer_popular_baseline = baseline / scored;
  }

  // Cosines of sparse rows: request a scattered into one dense row, then each later
  // request's non-zeros looked up in it. The products are summed in index order,
  // skipping exact zeros, so every cosine equals the dense one to the bit.
  double sim_sum = 0.0;
  double sim_pairs = 0.0;
  std::vector<double> norms;
  for (const SparseCounts& v : request_matrix) norms.push_back(squared_norm(v));
  std::vector<double> dense(L * E, 0.0);
  for (std::size_t a = 0; a < request_matrix.size(); ++a) {
    for (const auto& [i, x] : request_matrix[a]) dense[i] = x;
    for (std::size_t b = a + 1; b < request_matrix.size(); ++b) {
      double dot = 0.0;
      for (const auto& [i, x] : request_matrix[b]) dot += dense[i] * x;
      const double nn = norms[a] * norms[b];
      sim_sum += norms[a] > 0.0 && norms[b] > 0.0 ? dot / std::sqrt(nn) : 0.0;
      sim_pairs += 1.0;
    }
    for (const auto& [i, x] : request_matrix[a]) dense[i] = 0.0;
  }
  if (sim_pairs > 0) s.request_similarity = sim_sum / sim_pairs;
  return s;
}

std::string format_routing_stats(const RoutingStats& s) {
  std::string out = fmt::format(
      "{} routing: {} requests, {} steps, {} tokens ({} in prefill steps); {} MoE layers × {} experts, top-{}\n\n",
      s.header.model, s.requests, s.steps, s.tokens, s.prefill_tokens, s.header.moe_layers, s.header.experts, s.header.top_k);
  out += "layer  max/mean     CV   Gini  hottest experts (share of layer load)\n";
  for (std::size_t l = 0; l < s.layers.size(); ++l) {
    const LayerSkew& k = s.layers[l];
    std::string hot;
    for (const auto& [e, share] : k.hottest) hot += fmt::format("{:>4} ({:4.1f}%)", e, 100.0 * share);
    out += fmt::format("{:>5}  {:8.2f}  {:5.2f}  {:5.3f}  {}\n", l, k.max_over_mean, k.cv, k.gini, hot);
  }
  out += fmt::format(
      "\ntemporal stability ({}-token windows): cosine of consecutive load vectors {:.3f}, top-{} recall {:.3f}\n"
      "cross-layer predictability (held-out half): successor predictor {:.3f} vs most-popular baseline {:.3f}\n"
      "per-request activation similarity (mean pairwise cosine): {:.3f}\n"
      "token locality: primary expert repeats the previous token's {:.3f} vs chance {:.3f}\n"
      "correlation lifts (hit − chance) / (1 − chance): locality {:.4f}, cross-layer {:.4f}\n",
      s.window_tokens, s.temporal_cosine, s.top_h, s.temporal_top_recall, s.cross_layer_accuracy,
      s.cross_layer_popular_baseline, s.request_similarity, s.token_repeat, s.token_repeat_chance, s.locality_lift(),
      s.cross_layer_lift());
  return out;
}

std::string routing_stats_json(const RoutingStats& s) {
  nlohmann::ordered_json j;
  j["kind"] = "routing";
  j["model"] = s.header.model;
  j["requests"] = s.requests;
  j["steps"] = s.steps;
  j["tokens"] = s.tokens;
  j["prefill_tokens"] = s.prefill_tokens;
  auto& layers = j["layers"] = nlohmann::ordered_json::array();
  for (std::size_t l = 0; l < s.layers.size(); ++l) {
    nlohmann::ordered_json hot = nlohmann::ordered_json::array();
    for (const auto& [e, share] : s.layers[l].hottest) hot.push_back({{"expert", e}, {"share", share}});
    layers.push_back({{"layer", l},
                      {"max_over_mean", s.layers[l].max_over_mean},
                      {"cv", s.layers[l].cv},
                      {"gini", s.layers[l].gini},
                      {"hottest", hot},
                      {"load", s.load[l]}});
  }
  j["temporal"] = {{"window_tokens", s.window_tokens}, {"cosine", s.temporal_cosine},
                   {"top_h", s.top_h}, {"top_recall", s.temporal_top_recall}};
  j["cross_layer"] = {{"successor_accuracy", s.cross_layer_accuracy},
                      {"popular_baseline", s.cross_layer_popular_baseline},
                      {"lift", s.cross_layer_lift()}};
  j["request_similarity"] = s.request_similarity;
  j["locality"] = {{"repeat", s.token_repeat}, {"chance", s.token_repeat_chance}, {"lift", s.locality_lift()}};
  return j.dump(2) + "\n";
}

}  // namespace moesim::traces
