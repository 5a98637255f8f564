#pragma once
// The processes of a sweep. Under mpirun (OpenMPI, when moesim was built with MPI)
// there is one rank per process; otherwise a single rank. Started only by the
// commands that spread work, so other commands never initialise MPI.
#include <string>
#include <vector>

namespace moesim::workflows {

class Ranks {
 public:
  Ranks();  // MPI_Init when launched by an MPI launcher and built with MPI
  ~Ranks();  // MPI_Finalize
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  void barrier() const;
  // Every rank's text, in rank order, on rank 0 (empty elsewhere).
  std::vector<std::string> gather(const std::string& mine) const;
  // Ends every rank (MPI_Abort) so that one rank's error cannot leave the others
  // waiting in a collective; returns normally when there is only one rank.
  void abort_all(int exit_code) const;
  static bool built_with_mpi();

 private:
  int rank_ = 0;
  int size_ = 1;
  bool initialised_ = false;
};

}  // namespace moesim::workflows
