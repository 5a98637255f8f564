#include "experiments/report/progress.h"

#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>

namespace moesim::report {

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void ProgressBar::update(std::size_t done, std::size_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  if (!drawn_ && now - start_ < std::chrono::seconds(2)) return;  // short runs stay quiet
  last_draw_ = now;
  drawn_ = true;
  constexpr std::size_t kWidth = 30;
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  const auto filled = static_cast<std::size_t>(fraction * kWidth);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
  fmt::print(stderr, "\r{} [{}{}] {}/{} {:3.0f}%  elapsed {:.0f}s  ETA {:.0f}s ", label_, std::string(filled, '#'),
             std::string(kWidth - filled, ' '), done, total, fraction * 100.0, elapsed, eta);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && drawn_) {
    fmt::print(stderr, "\n");
    std::fflush(stderr);
  }
}

}  // namespace moesim::report
