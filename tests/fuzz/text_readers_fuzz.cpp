// libFuzzer harness: the line-oriented readers — Azure CSV and Mooncake JSONL
// arrivals (with their statistics), calibration measurements (JSONL) and Vidur's
// profiling CSVs.
#include "calibrate/measurement.h"
#include "calibrate/vidur.h"
#include "fuzz_input.h"
#include "traces/arrival_stats.h"
#include "traces/arrival_trace.h"

namespace {

void read_arrivals(const std::string& path, const char* format) {
  moesim_fuzz::expect_clean([&] {
    const auto reader = moesim::traces::open_arrival_trace(path, format);
    while (reader->next()) {
    }
  });
  moesim_fuzz::expect_clean([&] { (void)moesim::traces::compute_arrival_stats(path, format, 1.0); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = moesim_fuzz::write_input(data, size, ".txt");
  read_arrivals(path, "azure-llm-2023");
  read_arrivals(path, "mooncake");
  moesim_fuzz::expect_clean([&] { (void)moesim::calibrate::read_measurements(path); });
  moesim_fuzz::expect_clean([&] { (void)moesim::calibrate::read_vidur_mlp(path, "h100"); });
  moesim_fuzz::expect_clean([&] { (void)moesim::calibrate::read_vidur_send_recv(path, "h100"); });
  return 0;
}
