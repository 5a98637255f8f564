#pragma once
// ViBE binning (spec §4): per layer, experts by descending load go to the GPU that
// minimises its accumulated time T_g + t_g(load), each GPU holding E/P experts (no
// replication), then pairwise swaps between the slowest GPU and the others while
// they lower the layer's makespan max_g T_g. t_g comes from a per-GPU performance
// model, so heavy experts land on fast GPUs. Exposed for tests and `moesim place`.
#include <vector>

#include "policies/placement_policy.h"

namespace moesim::policies::vibe {

struct Binning {
  std::vector<int> gpu_of;      // per expert
  double makespan = 0.0;        // max_g Σ t_g(load of its experts)
  int swaps = 0;                // swaps applied by the refinement
};

// One layer: loads in tokens; slots = experts per GPU (loads.size() == slots · gpus).
Binning bin_layer(const std::vector<double>& loads, int gpus, const ExpertTimeModel& time, int max_swaps);
// Swap refinement from an existing assignment (the incremental recalibration).
Binning refine_layer(const std::vector<double>& loads, std::vector<int> gpu_of, int gpus, const ExpertTimeModel& time,
                     int max_swaps);
double makespan(const std::vector<double>& loads, const std::vector<int>& gpu_of, int gpus, const ExpertTimeModel& time);

}  // namespace moesim::policies::vibe
