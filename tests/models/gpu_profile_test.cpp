// GPU latency model against hand computation: roofline terms, the knee where an
// expert FFN turns from weight-read bound to compute bound, table interpolation,
// and per-GPU compute/memory slowdowns.
#include <catch2/catch.hpp>
#include <cmath>

#include "models/catalog.h"
#include "models/gpu_profile.h"
#include "models/op_costs.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::models;

TEST_CASE("H100 runs a Mixtral expert for one token in weight-read time plus launch", "[models][gpu]") {
  const GpuProfile h100 = load_gpu_profile("h100-sxm");
  const MoeModel mixtral = load_moe_model("mixtral-8x7b");
  // bytes = 3·4096·14336·2 + 1·(2·4096 + 4·14336)·2 = 352,321,536 + 131,072
  const double bytes = 352321536.0 + 131072.0;
  const double expected_s = bytes / (0.85 * 3.35e12);
  const sim::Time t = h100.op_time(expert_ffn_key(mixtral), 1, expert_ffn_work(mixtral, 1));
  CHECK(t == sim::from_seconds(expected_s) + 5000);
  CHECK(t == 128776);  // 123.776 µs of weight reads + 5 µs launch
}

TEST_CASE("the expert FFN knee sits near 256 tokens on H100 and 128 on A100", "[models][gpu]") {
  // Design brief §3: "Knee ≈128 tokens (A100) / ≈256 (H100) for Mixtral-sized experts".
  const MoeModel m = load_moe_model("mixtral-8x7b");
  auto knee = [&](const GpuProfile& g) {
    for (double tokens = 1; tokens < 1e5; tokens += 1) {
      const OpWork w = expert_ffn_work(m, tokens);
      const double compute = w.flops / (g.compute_efficiency * g.peak_for("bf16"));
      const double memory = w.bytes / (g.memory_efficiency * g.hbm_bytes_per_s);
      if (compute >= memory) return tokens;
    }
    return -1.0;
  };
  const double h100 = knee(load_gpu_profile("h100-sxm"));
  const double a100 = knee(load_gpu_profile("a100-sxm"));
  CHECK(h100 > 180);
  CHECK(h100 < 320);
  CHECK(a100 > 90);
  CHECK(a100 < 170);
  // Flat below the knee, linear above it.
  const GpuProfile g = load_gpu_profile("h100-sxm");
  const OpKey key = expert_ffn_key(m);
  const auto at = [&](double tokens) { return static_cast<double>(g.op_time(key, tokens, expert_ffn_work(m, tokens))); };
  CHECK(at(64) / at(1) < 1.05);
  CHECK(at(8192) / at(4096) == Approx(2.0).epsilon(0.02));
}

TEST_CASE("measured tables interpolate log-linearly inside their range and fall back to the roofline", "[models][gpu]") {
  const auto json = JsonInput::parse(R"({
    "name": "test-gpu", "memory_bytes": 1000000000, "hbm_bytes_per_s": 1e12,
    "peak_flops": {"bf16": 1e14}, "launch_overhead_ns": 1000,
    "tables": [{"op": "expert_ffn", "shape": {"d_model": 8, "d_ff": 16}, "dtype": "bf16",
                "points": [[1, 1000], [4, 3000], [16, 9000]]}]})",
                                     "test.json");
  const GpuProfile g = parse_gpu_profile(json);
  const OpKey key{"expert_ffn", {{"d_model", 8}, {"d_ff", 16}}, "bf16"};
  const OpWork work{1e9, 1e9};  // roofline: max(10 µs, 1 ms) + 1 µs
  CHECK(g.op_time(key, 4, work) == 3000);   // a measured point
  CHECK(g.op_time(key, 2, work) == 2000);   // halfway in log2 between 1 and 4
  CHECK(g.op_time(key, 8, work) == 6000);   // halfway between 4 and 16
  CHECK(g.op_time(key, 32, work) == 1001000);  // beyond the table: roofline
  CHECK(g.op_time(key, 0, work) == 0);
  const OpKey other{"expert_ffn", {{"d_model", 8}, {"d_ff", 32}}, "bf16"};
  CHECK(g.op_time(other, 4, work) == 1001000);  // no table for this shape
}

TEST_CASE("compute slowdown stretches compute-bound work, memory slowdown weight-bound work", "[models][gpu]") {
  const GpuProfile g = load_gpu_profile("h100-sxm");
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const OpKey key = expert_ffn_key(m);
  const GpuSlowdown slow_compute{1.5, 1.0};
  const sim::Time small = g.op_time(key, 8, expert_ffn_work(m, 8));
  const sim::Time small_slow = g.op_time(key, 8, expert_ffn_work(m, 8), slow_compute);
  CHECK(small_slow == small);  // weight-read bound: compute slowdown does not show
  const sim::Time big = g.op_time(key, 4096, expert_ffn_work(m, 4096));
  const sim::Time big_slow = g.op_time(key, 4096, expert_ffn_work(m, 4096), slow_compute);
  // Within a nanosecond of rounding.
  CHECK(static_cast<double>(big_slow - g.launch_overhead) ==
        Approx(1.5 * static_cast<double>(big - g.launch_overhead)).margin(1.0));
  const sim::Time small_mem = g.op_time(key, 8, expert_ffn_work(m, 8), GpuSlowdown{1.0, 1.2});
  CHECK(static_cast<double>(small_mem - g.launch_overhead) ==
        Approx(1.2 * static_cast<double>(small - g.launch_overhead)).margin(1.0));
}

TEST_CASE("every shipped GPU profile loads and bad profiles name the field", "[models][gpu]") {
  for (const std::string& name : builtin_names("gpus")) {
    const GpuProfile g = load_gpu_profile(name);
    CHECK(g.memory_bytes > 0);
    CHECK(g.peak_for("bf16") > 0);
  }
  CHECK(builtin_names("gpus").size() >= 6);
  CHECK_THROWS_WITH(load_gpu_profile("b200"), Catch::Contains("unknown GPU profile 'b200'") && Catch::Contains("h100-sxm"));
  const auto bad = [](const std::string& text) { return parse_gpu_profile(JsonInput::parse(text, "g.json")); };
  const std::string head = R"({"name": "g", "memory_bytes": 1000, "peak_flops": {"bf16": 1e12}, )";
  CHECK_THROWS_WITH(bad(head + R"("hbm_bytes_per_s": -5})"),
                    Catch::Contains("g.json: $.hbm_bytes_per_s: expected a number in [1000000, 1e+16], got -5"));
  CHECK_THROWS_WITH(bad(head + R"("hbm_bytes_per_s": 1e9, "memory_efficiency": 1.5})"),
                    Catch::Contains("$.memory_efficiency"));
  CHECK_THROWS_WITH(bad(head + R"("hbm_bytes_per_s": 1e9, "tables": [{"op": "x", "dtype": "bf16", "points": [[4, 1], [2, 2]]}]})"),
                    Catch::Contains("$.tables[0].points[1][0]") && Catch::Contains("increasing"));
  CHECK_THROWS_WITH(load_gpu_profile("a100-sxm").peak_for("fp8"), Catch::Contains("no peak_flops for dtype 'fp8'"));
  CHECK_THROWS_WITH(bad(head + R"("hbm_bytes_per_s": 1e9, "op_rooflines": {"attention_decode": {"memory_efficiency": 0.5, "compute_efficiency": 2, "launch_overhead_ns": 0}}})"),
                    Catch::Contains("$.op_rooflines.attention_decode.compute_efficiency") && Catch::Contains("(0, 1]"));
  CHECK_THROWS_WITH(bad(head + R"("hbm_bytes_per_s": 1e9, "op_rooflines": {"attention_decode": {"memory_efficiency": 0.5, "compute_efficiency": 0.5}}})"),
                    Catch::Contains("launch_overhead_ns"));
}

TEST_CASE("an op's own roofline replaces the GPU-wide efficiencies for that op only", "[models][gpu]") {
  const auto json = JsonInput::parse(R"({
    "name": "test-gpu", "memory_bytes": 1000000000, "hbm_bytes_per_s": 1e12,
    "peak_flops": {"bf16": 1e14}, "memory_efficiency": 1.0, "compute_efficiency": 1.0, "launch_overhead_ns": 1000,
    "op_rooflines": {"attention_decode": {"memory_efficiency": 0.5, "compute_efficiency": 0.25, "launch_overhead_ns": 3000}}})",
                                     "test.json");
  const GpuProfile g = parse_gpu_profile(json);
  const OpWork memory_bound{1e9, 1e9};  // 10 µs of compute, 1 ms of memory at full speed
  const OpWork compute_bound{1e12, 1e6};  // 10 ms of compute at full speed
  const OpKey decode{"attention_decode", {}, "bf16"};
  const OpKey ffn{"expert_ffn", {}, "bf16"};
  CHECK(g.op_time(ffn, 1, memory_bound) == 1001000);      // 1 ms + 1 µs
  CHECK(g.op_time(decode, 1, memory_bound) == 2003000);   // 1 ms / 0.5 + 3 µs
  CHECK(g.op_time(ffn, 1, compute_bound) == 10001000);    // 10 ms + 1 µs
  CHECK(g.op_time(decode, 1, compute_bound) == 40003000); // 10 ms / 0.25 + 3 µs
  // A slowed GPU slows the op's own terms: memory × 1.5.
  CHECK(g.op_time(decode, 1, memory_bound, GpuSlowdown{1.0, 1.5}) == 3003000);
}

TEST_CASE("power-limited clock: the solution of u(x)·x³ = budget in each regime", "[models][gpu][power]") {
  // Fits the budget: full clock.
  CHECK(power_limited_clock(1.0, 0.5, 1.0) == 1.0);
  CHECK(power_limited_clock(0.1, 1.0, 0.5) == 1.0);  // memory bound: u = 0.1
  CHECK(power_limited_clock(0.0, 1.0, 0.01) == 1.0);  // no arithmetic
  // Compute bound at the limit: x³ = 0.729.
  CHECK(power_limited_clock(1.0, 0.1, 0.729) == Approx(0.9));
  CHECK(power_limited_clock(1.0, 0.0, 0.729) == Approx(0.9));
  // Memory bound at full clock (r = 0.9 > budget 0.8) and still at the limit (x ≥ r):
  // r·x² = budget → x = √(0.8 / 0.9); the kernel then draws (r/x)·x³ = 0.8.
  const double x = power_limited_clock(0.9, 1.0, 0.8);
  CHECK(x == Approx(std::sqrt(0.8 / 0.9)));
  CHECK((0.9 / x) * x * x * x == Approx(0.8));
  // r = 0.95 with budget 0.729: the memory-bound root √(0.729/0.95) = 0.876 < r is not
  // memory bound, so the kernel turns compute bound at ∛0.729.
  CHECK(power_limited_clock(0.95, 1.0, 0.729) == Approx(0.9));
}

TEST_CASE("a lower power limit slows a compute-bound expert by the clock ratio and a weight-read-bound one not at all",
          "[models][gpu][power]") {
  const GpuProfile g = load_gpu_profile("h200-sxm");
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const auto op = g.resolve(expert_ffn_key(m));
  const double reference = 1.0 / 1.14;
  GpuSlowdown nominal;
  nominal.power_budget = reference;
  nominal.reference_budget = reference;
  GpuSlowdown capped = nominal;
  capped.power_budget = 0.7 * reference;
  for (const double tokens : {1.0, 8.0, 16.0}) {
    const OpWork w = expert_ffn_work(m, tokens);
    INFO(tokens << " tokens");
    // The nominal chip is the one the profile describes; a weight-read-bound kernel
    // draws far below either budget.
    CHECK(g.op_time(op, tokens, w, nominal) == g.op_time(op, tokens, w));
    CHECK(g.op_time(op, tokens, w, capped) == g.op_time(op, tokens, w));
  }
  for (const double tokens : {4096.0, 16384.0}) {
    const OpWork w = expert_ffn_work(m, tokens);
    INFO(tokens << " tokens");
    const auto base = static_cast<double>(g.op_time(op, tokens, w) - g.launch_overhead);
    CHECK(g.op_time(op, tokens, w, nominal) == g.op_time(op, tokens, w));
    // Both throttle when compute bound: x = ∛budget, so the time ratio is ∛(1 / 0.7).
    CHECK(static_cast<double>(g.op_time(op, tokens, w, capped) - g.launch_overhead) ==
          Approx(base * std::cbrt(1.0 / 0.7)).epsilon(1e-6));
  }
  // A chip with more headroom than the nominal one runs compute-bound work at the
  // maximum clock: faster than nominal by ∛1.14 at most.
  GpuSlowdown roomy = nominal;
  roomy.power_budget = 2.0 * reference;
  const OpWork w = expert_ffn_work(m, 16384.0);
  CHECK(static_cast<double>(g.op_time(op, 16384.0, w, roomy) - g.launch_overhead) ==
        Approx(static_cast<double>(g.op_time(op, 16384.0, w) - g.launch_overhead) / std::cbrt(1.14)).epsilon(1e-6));
  CHECK(capped.compute_bound() == Approx(std::cbrt(1.0 / 0.7)));
  CHECK(roomy.compute_bound() == Approx(1.0 / std::cbrt(1.14)));
  CHECK(GpuSlowdown{1.3, 1.1}.compute_bound() == 1.3);
}

namespace {

// A GPU of 4 SMs, 100 TFLOP/s and 1 TB/s at full efficiency, one 64 × 64 tile: every
// term of the wave model can be read off by hand.
GpuProfile four_sm_gpu() {
  GpuProfile g = parse_gpu_profile(JsonInput::parse(R"({"name": "four-sm", "memory_bytes": 1000000000,
      "hbm_bytes_per_s": 1e12, "peak_flops": {"bf16": 1e14}, "sm_count": 4,
      "gemm_waves": {"memory_efficiency": 1, "compute_efficiency": 1, "launch_overhead_ns": 10000,
                     "wave_overhead_ns": 0, "tiles": [[64, 64]]}})",
                                                    "four-sm.json"));
  return g;
}

}  // namespace

TEST_CASE("GEMM waves: a partial wave costs a whole tile's time", "[models][gpu]") {
  const GpuProfile g = four_sm_gpu();
  REQUIRE(g.gemm_waves);
  // Gated MLP d = 4096, f = 128 over T tokens: gate/up GEMM T × 256 × 4096, SiLU, down
  // GEMM T × 4096 × 128. One 64 × 64 tile of the first: 2·64·64·4096 FLOPs at a quarter
  // of the peak (one SM) = 1.342 µs.
  const auto time = [&](double tokens) { return gated_mlp_wave_time(g, *g.gemm_waves, 1e14, 4096, 128, 2, tokens); };
  const auto ns = [](double s) { return sim::from_seconds(s); };
  const double sm = 1e14 / 4;
  const auto expected = [&](double tokens) {
    const double row_tiles = std::ceil(tokens / 64);
    const double up_waves = std::ceil(row_tiles * 4 / 4);         // 256 columns = 4 tiles per row of tiles
    const double down_waves = std::ceil(row_tiles * 64 / 4);      // 4096 columns = 64 tiles
    const double up_bytes = 2.0 * (256 * 4096 + tokens * 4096 + tokens * 256);
    const double down_bytes = 2.0 * (4096 * 128 + tokens * 128 + tokens * 4096);
    const sim::Time up = ns(std::max(up_waves * 2 * 64 * 64 * 4096 / sm, up_bytes / 1e12));
    const sim::Time silu = ns(std::max(tokens * 128 * 4 / 1e14, tokens * 3 * 128 * 2 / 1e12));
    const sim::Time down = ns(std::max(down_waves * 2 * 64 * 64 * 128 / sm, down_bytes / 1e12));
    return 10000 + up + silu + down;
  };
  for (const double tokens : {1.0, 64.0, 65.0, 256.0, 257.0}) {
    INFO(tokens << " tokens");
    CHECK(time(tokens) == expected(tokens));
  }
  // One token more than whole waves: a fifth wave of the first GEMM, 1.34 µs, where
  // the roofline would add 1/256 of its compute (0.02 µs).
  CHECK(time(257) - time(256) > 1300);
}

TEST_CASE("GEMM waves need the SM count", "[models][gpu]") {
  CHECK_THROWS_WITH(parse_gpu_profile(JsonInput::parse(R"({"name": "x", "memory_bytes": 1000000000,
      "hbm_bytes_per_s": 1e12, "peak_flops": {"bf16": 1e14},
      "gemm_waves": {"memory_efficiency": 1, "compute_efficiency": 1, "launch_overhead_ns": 0, "wave_overhead_ns": 0}})",
                                                   "x.json")),
                    Catch::Contains("$.gemm_waves") && Catch::Contains("sm_count"));
}
