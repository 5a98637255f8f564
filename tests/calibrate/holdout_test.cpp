// Out-of-sample validation (docs/calibration.md, "Held-out figures") on synthetic
// measurements from a known roofline: what the held-out error must be, by hand.
#include <catch2/catch.hpp>
#include <cmath>

#include "calibrate/holdout.h"
#include "models/catalog.h"
#include "models/op_costs.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::calibrate;

namespace {

// Expert FFN timings of 4 widths × 7 sizes on `base`'s datasheet peaks at efficiencies
// 0.9 (memory) and 0.65 (compute) and 10 µs fixed cost; `jump` multiplies the time of
// width `jump_width` from 256 tokens up (a tiling change the roofline cannot know).
std::vector<Measurement> synthetic(const std::string& base, const std::string& file, double jump = 1.0, std::int64_t jump_width = 0) {
  const models::GpuProfile g = models::load_gpu_profile(base);
  std::vector<Measurement> out;
  for (const std::int64_t f : {1024, 2048, 4096, 8192}) {
    for (const double tokens : {1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0}) {
      const models::OpWork w = models::gated_mlp_work(4096, f, 2, tokens);
      Measurement m;
      m.op = "gated_mlp";
      m.device = g.display_name;
      m.shape = {{"d_model", 4096}, {"d_ff", f}};
      m.tokens = tokens;
      m.file = file;
      m.median_us = 10.0 + 1e6 * std::max(w.bytes / (0.9 * g.hbm_bytes_per_s), w.flops / (0.65 * g.peak_for("bf16")));
      if (f == jump_width && tokens >= 256.0) m.median_us *= jump;
      m.min_us = m.max_us = m.median_us;
      out.push_back(m);
    }
  }
  return out;
}

HoldoutOptions options(std::vector<std::string> bases) {
  HoldoutOptions o;
  o.bases = std::move(bases);
  return o;
}

}  // namespace

TEST_CASE("leave one width out: an exact roofline predicts the held-out width: a tiling jump shows as its error",
          "[calibrate][holdout]") {
  const auto clean = holdout_by_width(synthetic("h100-sxm", "s.jsonl"), options({"h100-sxm"}));
  REQUIRE(clean.size() == 4);
  for (const auto& run : clean) {
    INFO(run.held_out);
    REQUIRE(run.validation.ops.size() == 1);
    CHECK(run.validation.ops[0].sample == "held-out");
    CHECK(run.validation.ops[0].mape < 0.005);
  }
  // Width 2048 runs 1.3× slower from 256 tokens: fitted on the three clean widths, the
  // roofline predicts the clean time there, |1/1.3 − 1| = 23.1% at 3 of 7 sizes: 9.9%.
  const auto jumped = holdout_by_width(synthetic("h100-sxm", "s.jsonl", 1.3, 2048), options({"h100-sxm"}));
  CHECK(jumped[1].held_out == "d_ff=2048");
  CHECK(jumped[1].validation.ops[0].mape == Approx(3.0 / 7.0 * (1.0 - 1.0 / 1.3)).margin(0.005));
  CHECK_THROWS_WITH(holdout_by_width(select(synthetic("h100-sxm", "s.jsonl"), {"d_ff=1024"}), options({"h100-sxm"})),
                    Catch::Contains("two or more widths"));
}

TEST_CASE("hold out a file of another GPU: the efficiencies fitted on one carry over to the other's peaks",
          "[calibrate][holdout]") {
  // Both GPUs reach the same fractions of their own datasheet peaks, so the H100's fit
  // on the H200's peaks predicts the H200's timings (and back), tables left behind.
  const auto runs = holdout_by_file({synthetic("h100-sxm", "h100.jsonl"), synthetic("h200-sxm", "h200.jsonl")},
                                    options({"h100-sxm", "h200-sxm"}));
  REQUIRE(runs.size() == 2);
  for (const auto& run : runs) {
    INFO(run.held_out);
    CHECK_FALSE(run.same_device);
    for (const auto& e : run.validation.ops) CHECK(e.mape < 0.005);
  }
  // With the H100's datasheet for both, the H200's faster memory is missed: its
  // weight-read-bound timings come out 4.8/3.35 = 1.43× too slow.
  const auto wrong = holdout_by_file({synthetic("h100-sxm", "h100.jsonl"), synthetic("h200-sxm", "h200.jsonl")},
                                     options({"h100-sxm"}));
  double worst = 0.0;
  for (const auto& e : wrong[1].validation.ops) worst = std::max(worst, e.worst);
  CHECK(worst > 0.3);
  CHECK_THROWS_WITH(holdout_by_file({synthetic("h100-sxm", "a.jsonl")}, options({"h100-sxm"})), Catch::Contains("two or more"));
  CHECK_THROWS_WITH(holdout_by_file({synthetic("h100-sxm", "a.jsonl"), synthetic("h100-sxm", "b.jsonl"), synthetic("h100-sxm", "c.jsonl")},
                                    options({"h100-sxm", "h200-sxm"})),
                    Catch::Contains("one profile or one per file"));
}

TEST_CASE("validate labels rows in-sample when the profile was fitted on their file", "[calibrate][holdout]") {
  models::GpuProfile g = models::load_gpu_profile("h100-sxm");
  g.fitted_on = {"a.jsonl"};
  auto a = synthetic("h100-sxm", "a.jsonl");
  auto b = synthetic("h100-sxm", "b.jsonl");
  std::vector<Measurement> ms = select(a, {"d_ff=1024"});
  for (const auto& m : select(b, {"d_ff=2048"})) ms.push_back(m);
  auto mixed = select(a, {"d_ff=4096"});
  mixed.resize(3);
  for (const auto& m : select(b, {"d_ff=4096"})) ms.push_back(m);
  for (const auto& m : mixed) ms.push_back(m);
  const Validation v = validate(ms, g, "dgx-h100");
  REQUIRE(v.ops.size() == 3);
  CHECK(v.ops[0].shape == "d_ff=1024 d_model=4096");
  CHECK(v.ops[0].sample == "in-sample");
  CHECK(v.ops[1].sample == "held-out");
  CHECK(v.ops[2].sample == "mixed");
  CHECK_THAT(format_validation(v, "t"), Catch::Contains("2 of 3 rows are in-sample or mixed"));
  g.fitted_on.clear();  // a datasheet profile: nothing is in-sample
  for (const auto& e : validate(ms, g, "dgx-h100").ops) CHECK(e.sample == "held-out");
}

TEST_CASE("a fit over two devices' timings is refused, naming both", "[calibrate][holdout]") {
  auto ms = synthetic("h100-sxm", "a.jsonl");
  const auto other = synthetic("h200-sxm", "b.jsonl");
  ms.insert(ms.end(), other.begin(), other.end());
  CHECK_THROWS_WITH(fit_profile(ms, "h100-sxm", "a + b"),
                    Catch::Contains("2 devices") && Catch::Contains("H100") && Catch::Contains("H200"));
  // By file with one base for both: the fit of each file alone is fine.
  CHECK(holdout_by_file({synthetic("h100-sxm", "a.jsonl"), synthetic("h100-sxm", "b.jsonl")}, options({"h100-sxm"})).size() == 2);
}
