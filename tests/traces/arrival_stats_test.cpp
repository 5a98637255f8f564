#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "traces/arrival_stats.h"

using namespace moesim::traces;

TEST_CASE("arrival stats of a hand-made trace", "[traces][arrivals]") {
  const auto path = (std::filesystem::temp_directory_path() / "moesim_arrival_stats.jsonl").string();
  {
    // Arrivals at 0, 1, 2, 10, 11 s: gaps 1, 1, 8, 1 (mean 2.75, s.d. 3.5).
    std::ofstream out(path);
    const int ms[] = {0, 1000, 2000, 10000, 11000};
    const int in[] = {10, 20, 30, 40, 50};
    for (int i = 0; i < 5; ++i) {
      out << "{\"timestamp\": " << ms[i] << ", \"input_length\": " << in[i] << ", \"output_length\": 5, \"hash_ids\": []}\n";
    }
  }
  const ArrivalStats s = compute_arrival_stats(path, "auto", 5.0);
  CHECK(s.requests == 5);
  CHECK(s.duration_s == Approx(11.0));
  CHECK(s.mean_rate() == Approx(4.0 / 11.0));
  CHECK(s.window_counts == std::vector<std::uint64_t>{3, 0, 2});
  CHECK(s.peak_window_rate() == Approx(3.0 / 5.0));
  CHECK(s.window_dispersion() == Approx(4.5 / 1.5));  // full windows {3, 0}: variance 4.5, mean 1.5
  CHECK(s.gap_cv() == Approx(3.5 / 2.75));
  CHECK(s.input.tally.mean() == Approx(30.0));
  CHECK(s.input.quantiles.quantile(0.5) == Approx(30.0).epsilon(0.01));
  CHECK(s.output.tally.max() == 5.0);
  std::filesystem::remove(path);
}

TEST_CASE("arrival stats of the shipped Azure conversation trace", "[traces][arrivals][data]") {
  const ArrivalStats s = compute_arrival_stats(MOESIM_SOURCE_DIR "/traces/data/azure-llm-2023-conv.csv");
  CHECK(s.requests == 19366);
  CHECK(s.format == "azure-llm-2023");
  std::uint64_t total = 0;
  for (auto c : s.window_counts) total += c;
  CHECK(total == s.requests);
  CHECK(s.duration_s > 3400.0);  // about one hour
  CHECK(s.window_dispersion() > 2.0);  // real traffic is burstier than Poisson over minutes
}
