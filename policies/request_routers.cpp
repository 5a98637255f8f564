// Global request routers over model instances (docs/models.md "Instances"):
// round-robin, uniformly random, join-shortest-queue by outstanding requests or by
// outstanding tokens (per GPU, so a larger instance takes proportionally more), the
// most free KV cache, and
// the power of two choices (Mitzenmacher 2001: two random instances, the shorter
// queue of the two). Ties go to the lowest index, so runs are deterministic.
#include <algorithm>

#include "models/serving/cache_aware_choice.h"
#include "policies/builtin.h"

namespace moesim::policies {
namespace {

class RoundRobin final : public models::RequestRouter {
 public:
  std::string name() const override { return "round-robin"; }
  std::size_t route(const models::Request&, const std::vector<models::InstanceLoad>& loads) override {
    return next_++ % loads.size();
  }

 private:
  std::size_t next_ = 0;
};

class RandomRouter final : public models::RequestRouter {
 public:
  explicit RandomRouter(sim::Rng rng) : rng_(rng) {}
  std::string name() const override { return "random"; }
  std::size_t route(const models::Request&, const std::vector<models::InstanceLoad>& loads) override {
    return static_cast<std::size_t>(rng_.uniform_int(loads.size()));
  }

 private:
  sim::Rng rng_;
};

// Outstanding work per GPU of the instance: the queue a new request would join.
double backlog(const models::InstanceLoad& l, bool by_tokens) {
  return static_cast<double>(by_tokens ? l.tokens : l.requests) / static_cast<double>(std::max(1, l.gpus));
}

class ShortestQueue final : public models::RequestRouter {
 public:
  explicit ShortestQueue(bool by_tokens) : by_tokens_(by_tokens) {}
  std::string name() const override { return by_tokens_ ? "least-tokens" : "least-requests"; }
  std::size_t route(const models::Request&, const std::vector<models::InstanceLoad>& loads) override {
    std::size_t best = 0;
    for (std::size_t i = 1; i < loads.size(); ++i) {
      if (backlog(loads[i], by_tokens_) < backlog(loads[best], by_tokens_)) best = i;
    }
    return best;
  }

 private:
  bool by_tokens_;
};

// KV-aware: the instance with the largest share of its KV cache free (running
// requests reserve theirs for life, docs/models.md), ties by fewer waiting-or-running
// requests per GPU. Memory-pressure routing as KV-aware routers do it before any
// prefix cache exists.
class MostFreeKv final : public models::RequestRouter {
 public:
  std::string name() const override { return "most-free-kv"; }
  std::size_t route(const models::Request&, const std::vector<models::InstanceLoad>& loads) override {
    std::size_t best = 0;
    for (std::size_t i = 1; i < loads.size(); ++i) {
      const bool more_free = loads[i].kv_free_share > loads[best].kv_free_share;
      const bool tie = loads[i].kv_free_share == loads[best].kv_free_share;
      if (more_free || (tie && backlog(loads[i], false) < backlog(loads[best], false))) best = i;
    }
    return best;
  }
};

// Prefix-aware (SGLang's cache-aware router, docs/models.md "Prefix-aware
// placement"): the instance caching the longest prefix of the prompt while the
// instances' outstanding requests stay balanced, else the least loaded.
class PrefixAware final : public models::RequestRouter {
 public:
  explicit PrefixAware(models::CacheAwareRule rule) : rule_(rule) {}
  std::string name() const override { return "prefix-aware"; }
  bool reads_prefix_cache() const override { return true; }
  std::size_t route(const models::Request& r, const std::vector<models::InstanceLoad>& loads) override {
    cached_.resize(loads.size());
    backlog_.resize(loads.size());
    for (std::size_t i = 0; i < loads.size(); ++i) {
      cached_[i] = loads[i].cached_prefix_tokens;
      backlog_[i] = static_cast<double>(loads[i].requests);
    }
    return models::cache_aware_choice(cached_, backlog_, r.input_tokens, rule_);
  }

 private:
  models::CacheAwareRule rule_;
  std::vector<std::int64_t> cached_;
  std::vector<double> backlog_;
};

class PowerOfTwo final : public models::RequestRouter {
 public:
  explicit PowerOfTwo(sim::Rng rng) : rng_(rng) {}
  std::string name() const override { return "power-of-two"; }
  std::size_t route(const models::Request&, const std::vector<models::InstanceLoad>& loads) override {
    if (loads.size() == 1) return 0;
    const auto a = static_cast<std::size_t>(rng_.uniform_int(loads.size()));
    auto b = static_cast<std::size_t>(rng_.uniform_int(loads.size() - 1));
    if (b >= a) ++b;  // two distinct instances
    const double la = backlog(loads[a], false), lb = backlog(loads[b], false);
    return lb < la || (lb == la && b < a) ? b : a;
  }

 private:
  sim::Rng rng_;
};

}  // namespace

std::unique_ptr<models::RequestRouter> make_round_robin(PolicyParams& p, sim::Rng) {
  p.reject_unknown();
  return std::make_unique<RoundRobin>();
}

std::unique_ptr<models::RequestRouter> make_random_router(PolicyParams& p, sim::Rng rng) {
  p.reject_unknown();
  return std::make_unique<RandomRouter>(rng);
}

std::unique_ptr<models::RequestRouter> make_least_requests(PolicyParams& p, sim::Rng) {
  p.reject_unknown();
  return std::make_unique<ShortestQueue>(false);
}

std::unique_ptr<models::RequestRouter> make_least_tokens(PolicyParams& p, sim::Rng) {
  p.reject_unknown();
  return std::make_unique<ShortestQueue>(true);
}

std::unique_ptr<models::RequestRouter> make_most_free_kv(PolicyParams& p, sim::Rng) {
  p.reject_unknown();
  return std::make_unique<MostFreeKv>();
}

std::unique_ptr<models::RequestRouter> make_prefix_aware_router(PolicyParams& p, sim::Rng) {
  models::CacheAwareRule rule;
  rule.cache_threshold = p.number("cache_threshold", rule.cache_threshold, 0.0, 1.0,
                                  "least share of the prompt cached for the longest match to win (SMG's default)");
  rule.balance_abs = p.number("balance_abs_threshold", rule.balance_abs, 0.0, 1e9,
                              "outstanding requests apart before balance overrides the cache (with the relative bound)");
  rule.balance_rel = p.number("balance_rel_threshold", rule.balance_rel, 1.0, 1e9,
                              "max over min outstanding requests before balance overrides the cache");
  p.reject_unknown();
  return std::make_unique<PrefixAware>(rule);
}

std::unique_ptr<models::RequestRouter> make_power_of_two(PolicyParams& p, sim::Rng rng) {
  p.reject_unknown();
  return std::make_unique<PowerOfTwo>(rng);
}

}  // namespace moesim::policies

