#pragma once
// MoEless' expert scaling and placement for one layer (docs/serverless.md, "MoEless"), as pure
// functions of the predicted loads and the runtime's state, so tests can check
// them by hand.
#include <functional>
#include <vector>

namespace moesim::policies {

// Replicas per expert: cap = max(mean_e(n̂)·(1 + τ), min_tokens);
// R[e] = clamp(⌈n̂[e] / cap⌉, 1, max_replicas). An expert above the cap is a
// straggler and gets more than one replica. `min_tokens` keeps replicas from
// being cut below the batch at which an expert stops being bound by reading its
// weights: below it, a second replica doubles the weight reads and saves nothing.
std::vector<int> replica_counts(const std::vector<double>& predicted, double tau, int max_replicas, double min_tokens = 0.0);

struct LayerPlacementInput {
  std::vector<double> predicted;           // n̂ per expert
  std::vector<int> replicas;               // R per expert
  std::vector<int> free_slots;             // per GPU
  std::function<bool(int expert, int gpu)> live;  // an instance is warm or loading there
  // Time of `tokens` on one replica on `gpu`; null: loads are counted in tokens.
  std::function<double(int gpu, double tokens)> time;
};

// Function locality first, then balance. Experts in descending per-replica load
// w = n̂/R: phase 1 puts up to R replicas on GPUs where the expert is live (those
// that would finish first; experts with fewer live GPUs choose first); phase 2 puts the rest, heaviest first, each on the GPU
// that would finish first among those with a free slot and no replica of that
// expert yet (LPT; a GPU's load is Σ time(w) of its replicas). A
// replica that fits nowhere is dropped (the expert keeps the others); an expert with
// no replica at all goes to the least-loaded GPU (the runtime makes room there).
// Returns the GPUs of each expert.
std::vector<std::vector<int>> place_replicas(const LayerPlacementInput& in);

}  // namespace moesim::policies
