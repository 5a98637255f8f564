// The paged KV cache (docs/models.md "Paged KV cache"): the block pool's eviction
// order, and the batch scheduler's admissions, preemptions and prefix hits against
// schedules worked out by hand, iteration by iteration.
#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/batch_scheduler.h"
#include "models/serving/kv_block_pool.h"
#include "one_layer_model.h"
#include "sim/rng.h"
#include "util/json_input.h"

using namespace moesim;
using namespace moesim::models;

namespace {

// One GPU's scheduler driven pass by pass (no engine: the passes take no time here).
struct Driver {
  sim::Simulator sim;
  MoeModel model = moesim_test::one_layer_model();
  ServingConfig config;
  ServingMetrics metrics;
  std::unique_ptr<BatchScheduler> scheduler;
  std::vector<std::int64_t> tokens;  // per pass
  std::vector<std::int64_t> swaps;   // bytes per pass
  explicit Driver(ServingConfig c, std::int64_t kv_capacity_bytes = 0, int gpus = 1) : config(c), metrics(gpus, Slo{}) {
    scheduler = std::make_unique<BatchScheduler>(sim, model, config, gpus, kv_capacity_bytes, metrics, nullptr);
  }
  // One pass; the tokens it ran.
  std::int64_t step() {
    Batch b = scheduler->form();
    scheduler->complete(b);
    return b.total();
  }
  void submit(std::uint64_t id, std::int64_t in, std::int64_t out, std::vector<std::uint64_t> hashes = {}) {
    Request r;
    r.id = id;
    r.input_tokens = in;
    r.output_tokens = out;
    r.prefix_hashes = std::move(hashes);
    scheduler->submit(r);
  }
  void drain() {
    while (scheduler->busy()) {
      Batch b = scheduler->form();
      REQUIRE(b.total() > 0);
      tokens.push_back(b.total());
      swaps.push_back(b.swap_bytes[0]);  // GPU 0's
      scheduler->complete(b);
    }
  }
  std::int64_t sum(std::size_t from, std::size_t to) const {  // passes [from, to), 1-based as in the comments
    std::int64_t n = 0;
    for (std::size_t i = from; i < to; ++i) n += tokens[i - 1];
    return n;
  }
};

ServingConfig paged(std::int64_t blocks) {
  ServingConfig c;
  c.kv_cache = ServingConfig::KvCache::kPaged;
  c.kv_block_tokens = 16;
  c.kv_blocks = blocks;
  return c;
}

}  // namespace

TEST_CASE("the KV block pool evicts unpinned prefix entries least recently released first", "[models][kv]") {
  KvBlockPool pool(10, 2);  // 10 blocks, 2 per prefix entry
  REQUIRE(pool.allocate(6));
  pool.publish(1);  // 2 of the 6 become entry 1, pinned
  pool.publish(2);  // and 2 more entry 2
  CHECK(pool.used() == 6);
  CHECK(pool.available() == 10 - 2 - 4);
  pool.unpin(2);  // released first: evicted first
  pool.unpin(1);
  CHECK(pool.available() == 8);
  CHECK(pool.match({1, 2}, 2) == 2);
  REQUIRE(pool.allocate(6));  // 4 blocks free: entry 2, released first, is evicted
  CHECK(pool.match({2}, 1) == 0);
  CHECK(pool.match({1}, 1) == 1);
  pool.pin(1);  // pinned: no longer evictable
  CHECK(pool.available() == 10 - 8 - 2);
  CHECK_FALSE(pool.allocate(1));
  pool.unpin(1);
  REQUIRE(pool.allocate(2));
  CHECK(pool.match({1}, 1) == 0);
  CHECK(pool.cached_entries() == 0);
  // Two requests computing one block concurrently keep one copy.
  pool.release(10);
  REQUIRE(pool.allocate(4));
  pool.publish(7);
  pool.publish(7);
  CHECK(pool.used() == 2);
}

TEST_CASE("paged KV admits what whole-life reservation cannot, and preempts the latest admitted by recompute",
          "[models][kv]") {
  // One GPU, 10 blocks of 16 tokens. Requests A and B: 64 prompt + 64 output tokens
  // (8 blocks for their whole life). Reserved, 8 + 8 > 10: B waits for A, and the
  // two run one after the other: a 64-token prefill and 63 decodes each.
  Driver reserve(ServingConfig{}, 10 * 16 * moesim_test::one_layer_model().kv_cache_bytes_per_token());
  reserve.submit(0, 64, 64);
  reserve.submit(1, 64, 64);
  reserve.drain();
  CHECK(reserve.tokens.size() == 2 * 64);

  // Paged, both start at once (4 blocks each for their prompts). Pass 1: both
  // prefills (128 tokens). Decode j (pass j + 1) writes context 64 + j: 5 blocks
  // each up to j = 16, so pass 18 (j = 17, 81 tokens) needs a sixth block for A
  // with none free: B, admitted last, is preempted (17 tokens produced) and A goes
  // on alone to its 63rd decode (pass 64). B waits until then: re-prefilling its
  // 64 + 17 tokens needs 6 blocks, A holds 6-8. Pass 65: B's 81-token re-prefill
  // yields its 18th token; 46 decodes follow (passes 66-111).
  Driver p(paged(10));
  p.submit(0, 64, 64);
  p.submit(1, 64, 64);
  p.drain();
  REQUIRE(p.tokens.size() == 111);
  CHECK(p.tokens[0] == 128);
  CHECK(p.sum(2, 18) == 16 * 2);
  CHECK(p.sum(18, 65) == 47);
  CHECK(p.tokens[64] == 81);
  CHECK(p.sum(66, 112) == 46);
  CHECK(p.metrics.kv_cache().recompute_preemptions == 1);
  CHECK(p.metrics.kv_cache().swap_preemptions == 0);
  REQUIRE(p.metrics.requests().size() == 2);
  CHECK(p.metrics.requests()[0].id == 0);  // A, never preempted, finishes first
  CHECK(p.scheduler->outstanding_tokens() == 0);
  CHECK(p.scheduler->kv_free_share() == 1.0);
}

TEST_CASE("paged KV preempted by swap copies the KV out and back instead of recomputing it", "[models][kv]") {
  // As above, but B's 80 KV tokens (64 prompt + 16 decoded) go to host memory at
  // pass 18 and come back at pass 65, when A has finished: B then decodes its 18th
  // to 64th token (47 passes, 65-111) with no re-prefill.
  ServingConfig c = paged(10);
  c.preemption = ServingConfig::Preemption::kSwap;
  Driver p(c);
  p.submit(0, 64, 64);
  p.submit(1, 64, 64);
  p.drain();
  const std::int64_t bytes = 80 * p.model.kv_cache_bytes_per_token();
  REQUIRE(p.tokens.size() == 111);
  CHECK(p.swaps[17] == bytes);
  CHECK(p.swaps[64] == bytes);
  CHECK(p.sum(65, 112) == 47);
  CHECK(p.metrics.kv_cache().swap_preemptions == 1);
  CHECK(p.metrics.kv_cache().swapped_out_bytes == bytes);

  // With no room in host memory the swap falls back to recompute.
  c.swap_space_bytes = bytes - 1;
  Driver q(c);
  q.submit(0, 64, 64);
  q.submit(1, 64, 64);
  q.drain();
  CHECK(q.metrics.kv_cache().recompute_preemptions == 1);
  CHECK(q.tokens[64] == 81);
}

TEST_CASE("prefix caching skips the prompt blocks a GPU already holds, never the last prompt token", "[models][kv]") {
  ServingConfig c = paged(1000);
  c.prefix_cache = true;
  c.prefix_block_tokens = 512;
  Driver p(c);
  // A computes blocks 1 and 2 (two 512-token chunks); once it is done they stay cached.
  p.submit(0, 1024, 1, {1, 2});
  p.drain();
  CHECK(p.tokens == std::vector<std::int64_t>{512, 512});
  // B shares both blocks and adds a partial third: only its last 476 tokens are computed.
  p.submit(1, 1500, 1, {1, 2, 3});
  p.drain();
  CHECK(p.tokens.back() == 476);
  // C shares block 1 only.
  p.submit(2, 1024, 1, {1, 9});
  p.drain();
  CHECK(p.tokens.back() == 512);
  // D is A again: a full hit, but the last block is computed to yield the output.
  p.submit(3, 1024, 1, {1, 2});
  p.drain();
  CHECK(p.tokens.back() == 512);
  const auto& kv = p.metrics.kv_cache();
  CHECK(kv.prefill_lookup_tokens == 1024 + 1500 + 1024 + 1024);
  CHECK(kv.prefix_hit_tokens == 0 + 1024 + 512 + 512);

  // Without prefix caching every prompt is computed in full.
  Driver off(paged(1000));
  off.submit(0, 1024, 1, {1, 2});
  off.submit(1, 1500, 1, {1, 2, 3});
  off.drain();
  CHECK(off.sum(1, off.tokens.size() + 1) == 1024 + 1500);
}

TEST_CASE("paged KV settings that cannot work are refused naming the JSON path", "[models][kv]") {
  const auto parse = [](const char* text) { return parse_serving_config(JsonInput::parse(text, "s.json")); };
  CHECK_THROWS_WITH(parse(R"({"prefix_cache": true})"), Catch::Contains("$.prefix_cache") && Catch::Contains("paged"));
  CHECK_THROWS_WITH(parse(R"({"kv_cache": "paged", "prefix_cache": true, "prefix_block_tokens": 100})"),
                    Catch::Contains("$.prefix_block_tokens") && Catch::Contains("multiple"));
  CHECK_THROWS_WITH(parse(R"({"kv_cache": "paged", "batching": "static-buckets"})"),
                    Catch::Contains("$.kv_cache") && Catch::Contains("continuous"));
  CHECK_THROWS_WITH(parse(R"({"kv_cache": "pages"})"), Catch::Contains("$.kv_cache"));
  CHECK_THROWS_WITH(parse(R"({"kv_block_tokens": 0})"), Catch::Contains("$.kv_block_tokens"));
}

TEST_CASE("a request whose prompt and output can never fit the GPU's blocks is dropped with the reason", "[models][kv]") {
  Driver p(paged(4));  // 64 tokens
  p.submit(0, 61, 5);  // 65 KV tokens
  p.submit(1, 60, 5);  // 64: the last output token's KV is never written
  p.drain();
  REQUIRE(p.metrics.dropped().size() == 1);
  CHECK(p.metrics.dropped()[0].first == 0);
  CHECK_THAT(p.metrics.dropped()[0].second, Catch::Contains("5 blocks of 16") && Catch::Contains("4 blocks"));
  CHECK(p.metrics.requests().size() == 1);
}

TEST_CASE("prefix-aware GPU assignment sends a prompt to the GPU caching its prefix, least-requests does not",
          "[models][kv]") {
  // Two GPUs. A (blocks 1, 2) runs alone on GPU 0 and leaves both cached there. D, a
  // long unrelated request, then joins GPU 0 (both GPUs idle: the lower index) and
  // stays. B shares A's prefix: least-requests sends it to idle GPU 1 (nothing
  // cached: 1024 tokens computed); prefix-aware to GPU 0 (1 request vs 0 is
  // balanced, and 512 of its 1024 tokens cached there: 512 computed).
  for (const auto assignment : {ServingConfig::GpuAssignment::kLeastRequests, ServingConfig::GpuAssignment::kPrefixAware}) {
    ServingConfig c = paged(1000);
    c.prefix_cache = true;
    c.gpu_assignment = assignment;
    Driver p(c, 0, 2);
    p.submit(0, 1024, 1, {1, 2});
    p.drain();
    p.submit(1, 16, 500, {7});
    p.step();
    p.submit(2, 1024, 1, {1, 2});
    const bool aware = assignment == ServingConfig::GpuAssignment::kPrefixAware;
    CHECK(p.scheduler->cached_prefix_tokens(Request{.input_tokens = 1024, .prefix_hashes = {1, 2}}) == 512);
    p.drain();
    const auto& records = p.metrics.requests();
    const auto b = std::find_if(records.begin(), records.end(), [](const RequestRecord& r) { return r.id == 2; });
    REQUIRE(b != records.end());
    CHECK(b->gpu == (aware ? 0 : 1));
    CHECK(p.metrics.kv_cache().prefix_hit_tokens == (aware ? 512 : 0));
  }
}

TEST_CASE("paged KV under random load: every request finishes, no block or pin leaks, accounting returns to zero",
          "[models][kv]") {
  // Seeded random workloads over tight caches, both preemption modes, with and
  // without prefix caching on prompts that share random leading blocks. Checked
  // after every pass: the pool never holds more than it has; at the end every
  // request that fits has finished and every block and pin is back.
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    sim::Rng rng(seed);
    ServingConfig c = paged(40 + static_cast<std::int64_t>(rng.uniform_int(80)));
    c.preemption = seed % 2 ? ServingConfig::Preemption::kSwap : ServingConfig::Preemption::kRecompute;
    c.swap_space_bytes = static_cast<std::int64_t>(rng.uniform_int(4)) * 400 * moesim_test::one_layer_model().kv_cache_bytes_per_token();
    c.prefix_cache = seed % 3 != 0;
    c.prefix_block_tokens = 64;
    c.prefill_chunk = 32 + static_cast<std::int64_t>(rng.uniform_int(200));
    c.max_batched_tokens = 64 + static_cast<std::int64_t>(rng.uniform_int(400));
    c.max_running_requests = 1 + static_cast<int>(rng.uniform_int(12));
    Driver p(c, 0, 2);
    const int n = 60;
    int fitting = 0;
    for (int i = 0; i < n; ++i) {
      const std::int64_t in = 1 + static_cast<std::int64_t>(rng.uniform_int(700));
      const std::int64_t out = 1 + static_cast<std::int64_t>(rng.uniform_int(300));
      std::vector<std::uint64_t> hashes;
      for (std::int64_t b = 0; b * 64 < in; ++b) hashes.push_back(b < 3 ? rng.uniform_int(3) * 10 + static_cast<std::uint64_t>(b) : rng.next_u64());
      fitting += (in + out - 1 + 15) / 16 <= c.kv_blocks;
      p.submit(static_cast<std::uint64_t>(i), in, out, hashes);
      for (int k = static_cast<int>(rng.uniform_int(3)); k > 0 && p.scheduler->busy(); --k) p.step();
    }
    std::uint64_t passes = 0;
    while (p.scheduler->busy()) {
      REQUIRE(p.step() > 0);
      REQUIRE(++passes < 1'000'000);
      REQUIRE(p.scheduler->kv_free_share() >= 0.0);
    }
    INFO("seed " << seed);
    CHECK(static_cast<int>(p.metrics.requests().size()) == fitting);
    CHECK(static_cast<int>(p.metrics.dropped().size()) == n - fitting);
    CHECK(p.scheduler->outstanding_tokens() == 0);
    CHECK(p.scheduler->outstanding_requests() == 0);
    CHECK(p.scheduler->kv_free_share() == 1.0);  // cached entries left are all unpinned (evictable)
    for (const RequestRecord& r : p.metrics.requests()) CHECK(r.first_token >= 0);
  }
}
