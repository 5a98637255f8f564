#pragma once
// Shared by the libFuzzer harnesses: the readers take file paths, so each input
// is written to one file in memory-backed storage (/dev/shm when present) and the
// reader is run on it. An InputError is the expected answer to a bad input; any
// other exception, a crash or a sanitizer report is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "util/errors.h"

namespace moesim_fuzz {

// One scratch file per process (libFuzzer's -fork/-jobs run several processes).
inline const std::string& scratch_path(const char* extension) {
  static const std::string path = [&] {
    const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    return (dir / ("moesim-fuzz-" + std::to_string(::getpid()) + extension)).string();
  }();
  return path;
}

inline const std::string& write_input(const std::uint8_t* data, std::size_t size, const char* extension) {
  const std::string& path = scratch_path(extension);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Runs `read`; an InputError is a clean rejection, everything else propagates to
// libFuzzer (an uncaught exception aborts: a finding).
template <class F>
void expect_clean(F&& read) {
  try {
    read();
  } catch (const moesim::InputError&) {
  }
}

}  // namespace moesim_fuzz
