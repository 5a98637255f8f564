// Hostile and malformed inputs (tests/data/repro/cases.tsv): every one ends in a
// clean exit with the expected message, within a time limit, and a rejected run
// leaves no output behind. The cases are the outside review's reproducers plus one
// per class of docs/limits.md.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "../temp_files.h"

namespace {

struct Outcome {
  int exit_code;
  std::string output;
};

Outcome run_in(const std::filesystem::path& dir, const std::string& args) {
  // `timeout` turns a hang into exit 124, which no case expects.
  const std::string cmd = "cd '" + dir.string() + "' && timeout 120 " + MOESIM_BINARY + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  for (std::size_t n = 0; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

TEST_CASE("every reproducer and hostile input ends in exit 0 or 2 with its message, in time", "[reliability][cli]") {
  const std::filesystem::path dir = std::filesystem::path(MOESIM_SOURCE_DIR) / "tests" / "data" / "repro";
  // git keeps no empty folders: the "directory given as a file" case needs this one.
  std::filesystem::create_directories(dir / "I6-a-directory.csv");
  std::ifstream cases(dir / "cases.tsv");
  REQUIRE(cases);
  int checked = 0;
  for (std::string line; std::getline(cases, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab1 = line.find('\t');
    const auto tab2 = line.find('\t', tab1 + 1);
    REQUIRE(tab2 != std::string::npos);
    const int expected_exit = std::stoi(line.substr(0, tab1));
    const std::string expected_text = line.substr(tab1 + 1, tab2 - tab1 - 1);
    const auto out = moesim_test::fresh_temp_dir("repro-case-" + std::to_string(checked));
    const std::string args = replace_all(line.substr(tab2 + 1), "{out}", out.string());
    const Outcome r = run_in(dir, args);
    INFO("moesim " << args << "\n" << r.output);
    CHECK(r.exit_code == expected_exit);
    CHECK_THAT(r.output, Catch::Contains(expected_text));
    if (expected_exit != 0) CHECK_FALSE(std::filesystem::exists(out / "metrics.json"));
    ++checked;
  }
  CHECK(checked >= 40);
}
