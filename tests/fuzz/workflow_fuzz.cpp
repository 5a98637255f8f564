// libFuzzer harness: the sweep, plan and regress suite/baseline loaders.
#include "experiments/workflows/plan.h"
#include "experiments/workflows/regress.h"
#include "experiments/workflows/sweep.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = moesim_fuzz::write_input(data, size, ".json");
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_sweep_spec(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_plan_spec(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_regress_suite(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::workflows::load_baseline(path); });
  return 0;
}
