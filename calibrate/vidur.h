#pragma once
// Readers of the H100 profiling data published with Vidur (github.com/microsoft/vidur,
// MIT; calibrate/data/vidur-h100.SOURCE.md), into our measurement format:
//  * mlp.csv — per (num_tokens, tensor-parallel degree) the medians of the fused
//    gate+up projection, the activation and the down projection of Llama-2-7B's gated
//    MLP; one "gated_mlp" measurement each (sum of the three), shape d_model × d_ff/TP;
//  * send_recv.csv — point-to-point transfer time by message size; "p2p" with shape
//    {"same_node": 1} when both workers share a DGX (NVLink), 0 across nodes.
// Times in the CSVs are milliseconds; ours are microseconds.
#include <string>
#include <vector>

#include "calibrate/measurement.h"

namespace moesim::calibrate {

std::vector<Measurement> read_vidur_mlp(const std::string& path, const std::string& device);
std::vector<Measurement> read_vidur_send_recv(const std::string& path, const std::string& device);

}  // namespace moesim::calibrate
