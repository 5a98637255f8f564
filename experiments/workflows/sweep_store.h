#pragma once
// Where a sweep keeps finished points so that an interrupted sweep resumes without
// redoing them: <out>/sweep-spec.json (what the results belong to) and one
// points-<rank>.jsonl per MPI rank, one line per finished point, flushed as it
// finishes. A line cut short by a crash is dropped and the file trimmed back.
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace moesim::workflows {

class SweepStore {
 public:
  // Throws InputError when `out_dir` holds results of a different sweep (other spec
  // or scenario) unless `fresh`, which discards them; or a corrupt results line.
  SweepStore(std::filesystem::path out_dir, const nlohmann::json& identity, int rank, bool fresh);
  ~SweepStore();
  SweepStore(const SweepStore&) = delete;
  SweepStore& operator=(const SweepStore&) = delete;

  // Finished points found on disk, by key (from every rank's file).
  const std::map<std::string, nlohmann::ordered_json>& finished() const { return finished_; }
  void append(const nlohmann::ordered_json& result);  // thread-safe
  const std::filesystem::path& out_dir() const { return out_dir_; }

 private:
  void load(const std::filesystem::path& file);

  std::filesystem::path out_dir_;
  std::map<std::string, nlohmann::ordered_json> finished_;
  std::FILE* mine_ = nullptr;
  std::mutex mutex_;
};

}  // namespace moesim::workflows
