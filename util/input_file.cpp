#include "util/input_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <memory>

#include "util/errors.h"

namespace moesim::util {

void require_not_directory(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(fmt::format("{}: is a directory, expected a file", path));
}

std::string read_input_file(const std::string& path, std::size_t max_bytes, const char* what) {
  require_not_directory(path);
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw InputError(fmt::format("{}: cannot open file: {}", path, std::strerror(errno)));
  std::string text;
  char chunk[1 << 16];
  while (true) {
    const std::size_t got = std::fread(chunk, 1, sizeof(chunk), file.get());
    if (got == 0) break;
    if (text.size() + got > max_bytes) {
      throw InputError(fmt::format("{}: larger than the {} MiB accepted for a {} (docs/limits.md)", path,
                                   max_bytes >> 20, what));
    }
    text.append(chunk, got);
  }
  if (std::ferror(file.get())) throw InputError(fmt::format("{}: cannot read file: {}", path, std::strerror(errno)));
  return text;
}

}  // namespace moesim::util
