#pragma once
// Out-of-sample validation (docs/calibration.md, "Held-out figures"): fit a profile on
// part of the measurements and judge it on the rest, so that no reported accuracy is
// the error of a model on the data it was fitted to.
//  * by width: for each expert width (d_ff), fit on the other widths and validate the
//    held-out width's expert FFNs (alone and back to back) — the roofline must predict
//    a shape it has no table for;
//  * by file: for each input file, fit on the other files and validate that file — a
//    second run of the same GPU (run to run: the held-out device was fitted on, so its
//    tables carry over) or another GPU (only the fitted efficiencies and overheads carry
//    over, put on the held-out GPU's own datasheet profile, its base).
#include <string>
#include <vector>

#include "calibrate/validation.h"

namespace moesim::calibrate {

struct HoldoutRun {
  std::string held_out;    // "d_ff=14336" or a file name
  std::string trained_on;  // what the profile was fitted on
  bool same_device = true; // by file: the held-out file's device was among the training devices
  Validation validation;   // every row held-out
};

struct HoldoutOptions {
  // Datasheet profiles the fits are relative to: one for all, or (by file) one per file
  // in input order — the files a fit is made on must share theirs.
  std::vector<std::string> bases;
  std::string topology = "dgx-h100";
  double transfer_overhead_us = 0.0;
  bool gemm_waves = false;  // fit and judge the tile/wave model of expert FFNs instead of the roofline
};

// Throws InputError when fewer than two widths (files) are there to split.
std::vector<HoldoutRun> holdout_by_width(const std::vector<Measurement>& ms, const HoldoutOptions& options);
std::vector<HoldoutRun> holdout_by_file(const std::vector<std::vector<Measurement>>& files, const HoldoutOptions& options);

// One table over every run (held out, op, shape, points, MAPE, worst) and the pooled
// held-out MAPE per op.
std::string format_holdout(const std::vector<HoldoutRun>& runs, const std::string& title);
std::string holdout_json(const std::vector<HoldoutRun>& runs);

}  // namespace moesim::calibrate
