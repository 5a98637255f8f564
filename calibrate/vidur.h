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

// The profiling files under a folder, with the device each was measured on: any
// `*mlp.csv` and `*send_recv.csv`, in Vidur's repository layout
// (data/profiling/compute/<device>/<org>/<model>/mlp.csv, data/profiling/network/
// <device>_<cluster>/send_recv.csv) or flat (<device>_<model>_mlp.csv). The device is
// the first path part (from the file up) that starts with a GPU token such as h100 or
// a100, unless `device` is given; MLP files first, each kind sorted by path, so the
// output does not depend on the file system's order. Throws InputError when none is found or a device cannot be told.
struct VidurFile {
  std::string path;      // relative to the folder
  std::string kind;      // "mlp" | "send_recv"
  std::string device;
};
std::vector<VidurFile> find_vidur_files(const std::string& folder, const std::string& device = "");
// "NVIDIA H100 80GB HBM3 (Vidur DGX)" for h100, "NVIDIA A100 80GB (Vidur)" for a100, else
// "NVIDIA <TOKEN> (Vidur)".
std::string vidur_device_name(const std::string& token);

}  // namespace moesim::calibrate
