#include "experiments/workflows/sweep_store.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "util/atomic_file.h"
#include "util/errors.h"

namespace moesim::workflows {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSpecFile = "sweep-spec.json";

bool is_points_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.rfind("points-", 0) == 0 && p.extension() == ".jsonl";
}

}  // namespace

SweepStore::SweepStore(fs::path out_dir, const nlohmann::json& identity, int rank, bool fresh)
    : out_dir_(std::move(out_dir)) {
  fs::create_directories(out_dir_);
  const fs::path spec_file = out_dir_ / kSpecFile;
  if (fresh && rank == 0) {
    for (const auto& entry : fs::directory_iterator(out_dir_)) {
      if (is_points_file(entry.path())) fs::remove(entry.path());
    }
    fs::remove(spec_file);
  }
  if (fs::exists(spec_file)) {
    std::ifstream in(spec_file);
    nlohmann::json stored;
    try {
      stored = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
      throw InputError(fmt::format("{}: not valid JSON; delete the folder's sweep files or run with --fresh", spec_file.string()));
    }
    if (stored != identity) {
      throw InputError(fmt::format("{} holds results of a different sweep (the sweep file or its scenario changed); "
                                   "use another --out, or --fresh to discard them", out_dir_.string()));
    }
  } else if (rank == 0) {
    write_file_atomic(spec_file, identity.dump(1) + "\n");
  }
  for (const auto& entry : fs::directory_iterator(out_dir_)) {
    if (is_points_file(entry.path())) load(entry.path());
  }
  const fs::path my_file = out_dir_ / fmt::format("points-{}.jsonl", rank);
  mine_ = std::fopen(my_file.c_str(), "ab");
  if (mine_ == nullptr) throw std::runtime_error(fmt::format("{}: cannot open for appending", my_file.string()));
}

SweepStore::~SweepStore() {
  if (mine_ != nullptr) std::fclose(mine_);
}

void SweepStore::load(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::size_t start = 0;
  std::size_t line = 0;
  while (start < text.size()) {
    ++line;
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      // Cut short by an interruption while writing: that point simply runs again.
      fs::resize_file(file, start);
      return;
    }
    try {
      auto result = nlohmann::ordered_json::parse(text.substr(start, end - start));
      const std::string key = result.at("key").get<std::string>();
      finished_[key] = std::move(result);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}:{}: corrupt sweep result ({}); delete the line or run with --fresh", file.string(),
                                   line, e.what()));
    }
    start = end + 1;
  }
}

void SweepStore::append(const nlohmann::ordered_json& result) {
  const std::string line = result.dump() + "\n";
  const std::lock_guard lock(mutex_);
  if (std::fwrite(line.data(), 1, line.size(), mine_) != line.size() || std::fflush(mine_) != 0) {
    throw std::runtime_error(fmt::format("{}: cannot append a sweep result", out_dir_.string()));
  }
}

}  // namespace moesim::workflows
