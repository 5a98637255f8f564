#pragma once
// Scratch files for tests. Each test file passes its own folder name: ctest runs
// test cases in parallel, so folders must not be shared.
#include <filesystem>
#include <fstream>
#include <string>

namespace moesim_test {

inline std::string write_temp_file(const std::string& folder, const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / folder;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name) << text;
  return (dir / name).string();
}

// An empty folder (its old contents removed).
inline std::filesystem::path fresh_temp_dir(const std::string& folder) {
  const auto dir = std::filesystem::temp_directory_path() / folder;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace moesim_test
