// Cache policies on hand-made sequences, MoE-Infinity's activation matching and
// trace collection, and the registry's errors for cache policies.
#include <catch2/catch.hpp>
#include <memory>

#include "policies/offload/activation_matching.h"
#include "policies/registry.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::policies;
using models::ExpertCache;

namespace {

std::unique_ptr<models::CachePolicy> policy(const std::string& name, const std::string& params = "") {
  if (params.empty()) return make_cache_policy(name, std::nullopt);
  return make_cache_policy(name, JsonInput::parse(params, "test"));
}

// Cache of 2 layers × 4 experts holding experts 0, 1, 2 of layer 0, used in the order given.
ExpertCache cache_after(const std::vector<int>& uses, int capacity = 3) {
  ExpertCache cache(2, 4, capacity);
  for (const int id : {0, 1, 2}) cache.insert_resident(id);
  for (const int id : uses) cache.mark_used(id);
  return cache;
}

ActivationMatrix eam(std::vector<double> counts) {
  ActivationMatrix m(2, 3);
  m.counts = std::move(counts);
  return m;
}

}  // namespace

TEST_CASE("cache policies: LRU evicts the least recent, LFU the fewest uses since cached") {
  const ExpertCache cache = cache_after({0, 0, 0, 1, 2});
  const std::vector<int> all{0, 1, 2};
  CHECK(policy("lru")->victim(cache, all, 4, 1) == 0);
  CHECK(policy("lfu")->victim(cache, all, 4, 1) == 1);  // 1 and 2 used once; 1 less recently
  CHECK(policy("lru")->victim(cache, std::vector<int>{1, 2}, 4, 1) == 1);
  CHECK(policy("on-demand")->keep_after_use() == false);
  CHECK(policy("lru")->keep_after_use());
}

TEST_CASE("cache policies: mixtral-offloading swaps within the incoming expert's layer") {
  ExpertCache cache(2, 4, 4);
  auto p = policy("mixtral-offloading");
  const std::vector<int> warm = p->warm_start(cache);
  CHECK(warm == std::vector<int>{0, 1, 4, 5});  // two experts of each layer
  for (const int id : warm) cache.insert_resident(id);
  for (const int id : {4, 0, 5, 1}) cache.mark_used(id);
  // Layer 1's least recent is 4, although 0 is older overall.
  CHECK(p->victim(cache, warm, cache.id(1, 3), 1) == 4);
  CHECK(p->victim(cache, warm, cache.id(0, 3), 0) == 0);
  CHECK(p->writes_back());
}

TEST_CASE("cache policies: popularity keeps the profiled hot experts resident") {
  ExpertCache cache(2, 3, 3);
  auto p = policy("popularity", R"({"policy": "popularity", "buffer": 1})");
  p->train(eam({1, 9, 0, 5, 0, 7}));
  const std::vector<int> warm = p->warm_start(cache);
  CHECK(warm == std::vector<int>{1, 5});  // capacity 3 − 1 buffer slot
  for (const int id : warm) cache.insert_resident(id);
  cache.insert_resident(0);
  for (const int id : {0, 1, 5}) cache.mark_used(id);
  // 1 and 5 are older than 0 but hot: the cold buffer expert goes.
  CHECK(p->victim(cache, std::vector<int>{0, 1, 5}, 2, 0) == 0);
}

TEST_CASE("moe-infinity matching: identical trace at distance 0, nearest of three, code-faithful mask") {
  TraceCollection collection(8, 2, 3);
  collection.add(eam({5, 0, 0, 0, 5, 0}));
  collection.add(eam({0, 5, 0, 0, 0, 5}));
  collection.add(eam({1, 1, 0, 0, 1, 1}));
  ActivationMatcher m(collection);
  // The request repeats trace 1 exactly.
  m.add(0, std::vector<std::int64_t>{0, 5, 0});
  CHECK(m.best(0, MatchMode::kPaper) == 1);
  m.add(1, std::vector<std::int64_t>{0, 0, 5});
  CHECK(m.distance(1, 1, MatchMode::kPaper) == Approx(0.0).margin(1e-12));
  CHECK(m.distance(0, 1, MatchMode::kPaper) == Approx(1.0));  // orthogonal on both layers
  // Trace 2 (mixed) is at cos 1/√2 on each layer.
  CHECK(m.distance(2, 1, MatchMode::kPaper) == Approx(1.0 - 1.0 / std::sqrt(2.0)));
  CHECK(m.best(1, MatchMode::kPaper) == 1);

  // After layer 0 only, the code-faithful mode compares the unexecuted layer 1,
  // where the request row is still empty: every trace ties and the first wins.
  ActivationMatcher fresh(collection);
  fresh.add(0, std::vector<std::int64_t>{0, 5, 0});
  CHECK(fresh.best(0, MatchMode::kCodeFaithful) == 0);
  CHECK(fresh.distance(0, 0, MatchMode::kCodeFaithful) == Approx(fresh.distance(1, 0, MatchMode::kCodeFaithful)));
  CHECK(fresh.best(0, MatchMode::kPaper) == 1);
}

TEST_CASE("moe-infinity: layer decay weights are 1, L/(L+1), (L-1)/(L+1), ...") {
  CHECK(layer_decay(0, 32) == 1.0);
  CHECK(layer_decay(1, 32) == Approx(32.0 / 33.0));
  CHECK(layer_decay(2, 32) == Approx(31.0 / 33.0));
}

TEST_CASE("moe-infinity trace collection: fills empty rows, then replaces the least accessed") {
  TraceCollection c(2, 2, 3);
  c.add(eam({1, 0, 0, 1, 0, 0}));
  c.add(eam({0, 1, 0, 0, 1, 0}));
  c.touch(0);
  c.add(eam({0, 0, 1, 0, 0, 1}));  // row 1 has fewer accesses (1 vs 2)
  REQUIRE(c.size() == 2);
  CHECK(c.trace(0).at(0, 0) == 1.0);
  CHECK(c.trace(1).at(0, 2) == 1.0);
  CHECK(c.access(1) == 1);
  CHECK(c.unit_row(1, 1)[2] == 1.0);
}

TEST_CASE("cache policy registry: unknown names list the registered ones: bad parameters name the policy") {
  CHECK_THROWS_WITH(make_cache_policy("fifo", std::nullopt), Catch::Contains("lru") && Catch::Contains("moe-infinity"));
  CHECK_THROWS_WITH(policy("moe-infinity", R"({"policy": "moe-infinity", "trace_capacity": 0})"),
                    Catch::Contains("trace_capacity") && Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(policy("moe-infinity", R"({"policy": "moe-infinity", "match": "exact"})"),
                    Catch::Contains("paper, code-faithful"));
  CHECK_THROWS_WITH(policy("lru", R"({"policy": "lru", "size": 3})"), Catch::Contains("size"));
  CHECK(policy_names("cache").size() == 8);
}
