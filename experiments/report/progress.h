#pragma once
// A one-line progress bar with ETA on stderr, drawn only when stderr is a
// terminal (logs and CI output stay clean), first after two seconds (short runs stay
// quiet), then redrawn at most ten times a second.
#include <chrono>
#include <cstddef>
#include <string>

namespace moesim::report {

class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  static bool stderr_is_terminal();
  void update(std::size_t done, std::size_t total);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace moesim::report
