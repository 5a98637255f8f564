// libFuzzer harness: the serving scenario loader (and through it the topology,
// variability, workload and policy parsers), the offload scenario loader, and the
// model and GPU profile files a scenario may name.
#include "experiments/run/offload_scenario.h"
#include "experiments/run/scenario.h"
#include "fuzz_input.h"
#include "models/gpu_profile.h"
#include "models/moe_model.h"
#include "util/json_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  moesim_fuzz::expect_clean([&] { (void)moesim::run::parse_scenario(moesim::JsonInput::parse(text, "fuzz.json")); });
  moesim_fuzz::expect_clean(
      [&] { (void)moesim::run::parse_offload_scenario(moesim::JsonInput::parse(text, "fuzz.json")); });
  moesim_fuzz::expect_clean([&] { (void)moesim::models::parse_moe_model(moesim::JsonInput::parse(text, "fuzz.json")); });
  moesim_fuzz::expect_clean([&] { (void)moesim::models::parse_gpu_profile(moesim::JsonInput::parse(text, "fuzz.json")); });
  return 0;
}
