#include "traces/expert_popularity.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "util/errors.h"
#include "util/json_input.h"

namespace moesim::traces {
namespace {

void add_file(ExpertPopularity& pop, const std::string& file) {
  const JsonInput root = JsonInput::load_file(file);
  const JsonInput table = root.at("expert_popularity");
  const auto rows = table.items();
  table.check(!rows.empty(), "at least one layer");
  if (pop.counts.empty()) pop.counts.assign(rows.size(), std::vector<std::uint64_t>(rows[0].items().size(), 0));
  table.check(rows.size() == pop.counts.size(), fmt::format("{} layers like the other files", pop.counts.size()));
  for (std::size_t l = 0; l < rows.size(); ++l) {
    const auto cells = rows[l].items();
    rows[l].check(cells.size() == pop.counts[l].size(), fmt::format("{} experts", pop.counts[l].size()));
    for (std::size_t e = 0; e < cells.size(); ++e) pop.counts[l][e] += static_cast<std::uint64_t>(cells[e].integer_at_least(0));
  }
  pop.sources.push_back(file);
}

}  // namespace

ExpertPopularity read_expert_popularity(const std::string& path) {
  namespace fs = std::filesystem;
  ExpertPopularity pop;
  if (fs::is_directory(path)) {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw InputError(fmt::format("{}: no .json popularity files", path));
    for (const auto& f : files) add_file(pop, f);
  } else {
    add_file(pop, path);
  }
  return pop;
}

}  // namespace moesim::traces
