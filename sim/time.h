#pragma once
// Simulated time: a signed 64-bit count of nanoseconds. Integer time keeps event
// order exact and runs byte-identical across machines; 2^63 ns is about 292 years.
#include <cstdint>
#include <limits>

namespace moesim::sim {

using Time = std::int64_t;  // nanoseconds

inline constexpr Time kTimeMax = std::numeric_limits<Time>::max();

constexpr Time nanoseconds(std::int64_t n) { return n; }
constexpr Time microseconds(std::int64_t n) { return n * 1000; }
constexpr Time milliseconds(std::int64_t n) { return n * 1000 * 1000; }
constexpr Time seconds(std::int64_t n) { return n * 1000 * 1000 * 1000; }

constexpr double to_seconds(Time t) { return static_cast<double>(t) * 1e-9; }
constexpr double to_milliseconds(Time t) { return static_cast<double>(t) * 1e-6; }
constexpr double to_microseconds(Time t) { return static_cast<double>(t) * 1e-3; }

// Converts a duration in (possibly fractional) seconds to the nearest nanosecond.
Time from_seconds(double s);

namespace literals {
constexpr Time operator""_ns(unsigned long long n) { return static_cast<Time>(n); }
constexpr Time operator""_us(unsigned long long n) { return microseconds(static_cast<std::int64_t>(n)); }
constexpr Time operator""_ms(unsigned long long n) { return milliseconds(static_cast<std::int64_t>(n)); }
constexpr Time operator""_s(unsigned long long n) { return seconds(static_cast<std::int64_t>(n)); }
}  // namespace literals

}  // namespace moesim::sim
