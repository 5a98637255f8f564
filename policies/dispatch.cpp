// Replica dispatch rules: even split (MoEless' assumption: load split evenly across
// replicas), least-loaded (each token to the replica whose GPU has the fewest
// tokens so far in this layer), speed-weighted (shares ∝ the GPUs' profiled speed).
#include <algorithm>
#include <numeric>

#include "policies/builtin.h"

namespace moesim::policies {
namespace {

// Integer shares of `tokens` proportional to `weights`, largest remainders first
// (ties to the lower index), so the split is exact and deterministic.
void proportional(std::int64_t tokens, const std::vector<double>& weights, std::vector<std::int64_t>& out) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<std::pair<double, std::size_t>> remainder;
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = static_cast<double>(tokens) * weights[i] / total;
    const auto whole = static_cast<std::int64_t>(exact);
    out[i] += whole;
    given += whole;
    remainder.emplace_back(exact - static_cast<double>(whole), i);
  }
  std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < tokens; ++k, ++given) ++out[remainder[k % remainder.size()].second];
}

class EvenSplit final : public models::ReplicaDispatch {
 public:
  std::string name() const override { return "even"; }
  void split(std::int64_t tokens, int src, const std::vector<int>& replicas, const std::vector<std::int64_t>&,
             std::vector<std::int64_t>& out) override {
    // Remainders rotate with the source GPU so no replica is always favoured.
    const auto n = static_cast<std::int64_t>(replicas.size());
    for (std::int64_t i = 0; i < n; ++i) {
      out[static_cast<std::size_t>(i)] += tokens / n + (((i - src) % n + n) % n < tokens % n ? 1 : 0);
    }
  }
};

class LeastLoaded final : public models::ReplicaDispatch {
 public:
  std::string name() const override { return "least-loaded"; }
  void split(std::int64_t tokens, int, const std::vector<int>& replicas, const std::vector<std::int64_t>& gpu_tokens,
             std::vector<std::int64_t>& out) override {
    // Water-filling: raise the least-loaded replicas' GPUs to a common level.
    std::vector<std::int64_t> level(replicas.size());
    for (std::size_t i = 0; i < replicas.size(); ++i) level[i] = gpu_tokens[static_cast<std::size_t>(replicas[i])] + out[i];
    for (std::int64_t t = 0; t < tokens; ++t) {
      const auto i = static_cast<std::size_t>(std::min_element(level.begin(), level.end()) - level.begin());
      ++out[i];
      ++level[i];
    }
  }
};

class SpeedWeighted final : public models::ReplicaDispatch {
 public:
  explicit SpeedWeighted(std::vector<double> speed) : speed_(std::move(speed)) {}
  std::string name() const override { return "speed-weighted"; }
  void split(std::int64_t tokens, int, const std::vector<int>& replicas, const std::vector<std::int64_t>&,
             std::vector<std::int64_t>& out) override {
    std::vector<double> w;
    for (int g : replicas) w.push_back(speed_[static_cast<std::size_t>(g)]);
    proportional(tokens, w, out);
  }

 private:
  std::vector<double> speed_;
};

}  // namespace

std::unique_ptr<models::ReplicaDispatch> make_even(PolicyParams& p, const std::vector<double>&) {
  p.reject_unknown();
  return std::make_unique<EvenSplit>();
}

std::unique_ptr<models::ReplicaDispatch> make_least_loaded(PolicyParams& p, const std::vector<double>&) {
  p.reject_unknown();
  return std::make_unique<LeastLoaded>();
}

std::unique_ptr<models::ReplicaDispatch> make_speed_weighted(PolicyParams& p, const std::vector<double>& speed) {
  p.reject_unknown();
  return std::make_unique<SpeedWeighted>(speed);
}

}  // namespace moesim::policies
