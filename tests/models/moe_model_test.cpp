// The catalog against independent truth: the parameter counts the model authors
// publish, and hand-computed derived quantities.
#include <catch2/catch.hpp>
#include <cmath>

#include "models/catalog.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::models;

TEST_CASE("every catalog model's total and active parameters match the published figures", "[models][catalog]") {
  const auto names = builtin_names("models");
  REQUIRE(names.size() >= 8);
  for (const std::string& name : names) {
    const MoeModel m = load_moe_model(name);
    INFO(name << ": total " << m.total_params() / 1e9 << "B (reported " << m.reported_total_params / 1e9
              << "B), active " << m.active_params() / 1e9 << "B (reported " << m.reported_active_params / 1e9 << "B)");
    REQUIRE(m.reported_total_params > 0);
    // Within 3%: published figures are rounded, and Llama 4's include the vision encoder.
    CHECK(std::abs(m.total_params() / m.reported_total_params - 1.0) < 0.03);
    CHECK(std::abs(m.active_params() / m.reported_active_params - 1.0) < 0.05);
  }
}

TEST_CASE("Mixtral-8x7B derived quantities, by hand", "[models][catalog]") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  CHECK(m.moe_layer_count() == 32);
  CHECK(m.expert_params() == 3LL * 4096 * 14336);          // 176,160,768
  CHECK(m.expert_bytes() == 2LL * 3 * 4096 * 14336);       // 336 MiB in BF16
  CHECK(m.expert_flops_per_token() == 2.0 * 3 * 4096 * 14336);
  CHECK(m.kv_cache_bytes_per_token() == 32LL * 2 * 8 * 128 * 2);  // 128 KiB per token
  CHECK(m.all_expert_bytes() == m.expert_bytes() * 8 * 32);
}

TEST_CASE("interleaved and first-k-dense layouts count their MoE layers", "[models][catalog]") {
  const MoeModel maverick = load_moe_model("llama-4-maverick-17b-128e");
  CHECK(maverick.moe_layer_count() == 24);  // the routing trace's 24 MoE layers
  CHECK_FALSE(maverick.is_moe_layer(0));
  CHECK(maverick.is_moe_layer(1));
  CHECK(maverick.is_moe_layer(47));
  const MoeModel v3 = load_moe_model("deepseek-v3");
  CHECK(v3.moe_layer_count() == 58);
  CHECK_FALSE(v3.is_moe_layer(2));
  CHECK(v3.is_moe_layer(3));
  CHECK(v3.kv_cache_bytes_per_token() == 61LL * 576 * 2);  // MLA latent cache
}

TEST_CASE("unknown names list the known ones: bad fields name their JSON path", "[models][catalog]") {
  CHECK_THROWS_WITH(load_moe_model("gpt-5", "$.model"),
                    Catch::Contains("$.model") && Catch::Contains("unknown model 'gpt-5'") &&
                        Catch::Contains("mixtral-8x7b"));
  const auto parse = [](const std::string& text) { return parse_moe_model(JsonInput::parse(text, "m.json")); };
  const std::string base = R"({"name":"x","layers":4,"d_model":64,"vocab":100,"dtype_bytes":2,
    "attention":{"heads":2,"kv_heads":1,"head_dim":32},)";
  CHECK_THROWS_WITH(parse(base + R"("moe":{"experts":4,"top_k":8,"expert_ffn":128}})"),
                    Catch::Contains("m.json: $.moe.top_k") && Catch::Contains("<= experts (4)"));
  CHECK_THROWS_WITH(parse(base + R"("moe":{"experts":"four","top_k":1,"expert_ffn":128}})"),
                    Catch::Contains("$.moe.experts: expected an integer, got \"four\""));
  CHECK_THROWS_WITH(parse(base + R"("moe":{"experts":4,"top_k":1}})"),
                    Catch::Contains("$.moe: missing required field 'expert_ffn'"));
  CHECK_THROWS_WITH(parse(base + R"("moe":{"experts":4,"top_k":1,"expert_ffn":128,"moe_layer_step":2}})"),
                    Catch::Contains("dense_ffn"));
  CHECK_THROWS_WITH(parse(R"({"name": "x", "layers": 4,)"), Catch::Contains("m.json:1:") && Catch::Contains("invalid JSON"));
  CHECK_THROWS_AS(load_moe_model("/nonexistent/model.json"), InputError);
}
