#include "experiments/workflows/ranks.h"

#include <cstdlib>
#include <stdexcept>

#ifdef MOESIM_HAVE_MPI
#include <mpi.h>
#endif

namespace moesim::workflows {
namespace {

// Launchers announce themselves in the environment (OpenMPI, PMIx, Hydra/Slurm PMI).
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

}  // namespace

bool Ranks::built_with_mpi() {
#ifdef MOESIM_HAVE_MPI
  return true;
#else
  return false;
#endif
}

Ranks::Ranks() {
  if (!launched_by_mpi()) return;
#ifdef MOESIM_HAVE_MPI
  MPI_Init(nullptr, nullptr);
  initialised_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size != nullptr && std::atoi(size) > 1) {
    // Each process would run the whole sweep and race on the same files.
    throw std::runtime_error("launched by mpirun, but this moesim was built without MPI "
                             "(install libopenmpi-dev and rebuild)");
  }
#endif
}

Ranks::~Ranks() {
#ifdef MOESIM_HAVE_MPI
  if (initialised_) MPI_Finalize();
#endif
}

void Ranks::barrier() const {
#ifdef MOESIM_HAVE_MPI
  if (initialised_) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void Ranks::abort_all(int exit_code) const {
#ifdef MOESIM_HAVE_MPI
  if (initialised_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
#else
  (void)exit_code;
#endif
}

std::vector<std::string> Ranks::gather(const std::string& mine) const {
#ifdef MOESIM_HAVE_MPI
  if (initialised_) {
    int length = static_cast<int>(mine.size());
    std::vector<int> lengths(static_cast<std::size_t>(size_));
    MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> offsets(static_cast<std::size_t>(size_), 0);
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[static_cast<std::size_t>(r)] = total;
      total += lengths[static_cast<std::size_t>(r)];
    }
    std::string all(rank_ == 0 ? static_cast<std::size_t>(total) : 0, '\0');
    MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (rank_ == 0) {
      for (int r = 0; r < size_; ++r) {
        out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                 static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
      }
    }
    return out;
  }
#endif
  return {mine};
}

}  // namespace moesim::workflows
