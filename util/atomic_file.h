#pragma once
// Every output file is written to a temporary sibling and renamed into place, so
// a crash or a full disk never leaves a half-written result behind.
#include <filesystem>
#include <string_view>

namespace moesim {

// Throws std::runtime_error naming the path when the file cannot be written.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace moesim
