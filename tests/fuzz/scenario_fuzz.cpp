// libFuzzer harness: the serving scenario loader (and through it the model, GPU,
// topology, variability, workload and policy parsers) and the offload scenario loader.
#include "experiments/run/offload_scenario.h"
#include "experiments/run/scenario.h"
#include "fuzz_input.h"
#include "sim/json_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  moesim_fuzz::expect_clean([&] { (void)moesim::run::parse_scenario(moesim::JsonInput::parse(text, "fuzz.json")); });
  moesim_fuzz::expect_clean(
      [&] { (void)moesim::run::parse_offload_scenario(moesim::JsonInput::parse(text, "fuzz.json")); });
  return 0;
}
