// libFuzzer harness: the sweep, plan and regress suite/baseline loaders, and the
// JSON trace readers (expert popularity tables, Llama-4 per-request routing).
#include "experiments/workflows/plan.h"
#include "experiments/workflows/regress.h"
#include "experiments/workflows/sweep.h"
#include "fuzz_input.h"
#include "traces/expert_popularity.h"
#include "traces/llama4_routing_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = moesim_fuzz::write_input(data, size, ".json");
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_sweep_spec(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_plan_spec(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_regress_suite(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_baseline(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::traces::read_expert_popularity(path); });
  moesim_fuzz::expect_clean(
      [&] { (void)moesim::traces::read_llama4_routing_json(path, 0, moesim::traces::Llama4Layout::maverick()); });
  return 0;
}
