#include "experiments/report/plot.h"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <stdexcept>
#include <unistd.h>

#include "util/atomic_file.h"

namespace moesim::report {

const char* plot_script();  // generated from experiments/plots/moesim_plot.py

namespace {

constexpr const char* kPython = "/usr/bin/python3";

// Single quotes for the shell (paths may hold spaces).
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void render_plot(const std::string& kind, const std::string& json_text, const std::string& png_path) {
  namespace fs = std::filesystem;
  if (!fs::exists(kPython)) {
    throw std::runtime_error(fmt::format("cannot draw {}: {} not found (scripts/setup installs python3-matplotlib)", png_path, kPython));
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("moesim-plot-{}", ::getpid());
  fs::create_directories(dir);
  const fs::path script = dir / "moesim_plot.py";
  const fs::path input = dir / "input.json";
  write_file_atomic(script.string(), plot_script());
  write_file_atomic(input.string(), json_text);
  const std::string tmp_png = png_path + ".tmp.png";
  const std::string command = fmt::format("{} {} {} {} {}", kPython, quoted(script.string()), kind, quoted(input.string()),
                                          quoted(tmp_png));
  const int status = std::system(command.c_str());
  fs::remove_all(dir);
  if (status != 0) {
    fs::remove(tmp_png);
    throw std::runtime_error(fmt::format("drawing {} failed (exit status {}): needs {} with matplotlib (scripts/setup installs "
                                         "python3-matplotlib)", png_path, status, kPython));
  }
  fs::rename(tmp_png, png_path);
}

}  // namespace moesim::report
