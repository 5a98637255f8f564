#!/usr/bin/env bash
# The end-to-end check in one call on a machine with an NVIDIA GPU (docs/calibration.md,
# "End-to-end check on a real GPU"): times the first layers of a catalog MoE model in
# PyTorch (moe_block_bench.py), then runs moesim on the same configurations and prints
# the per-iteration errors (compare.py). Exits 2 without a GPU or PyTorch.
#   calibrate/e2e/run.sh [out-folder] [moe_block_bench.py options, e.g. --model olmoe-1b-7b --layers 4]
# MOESIM (default build/release/bin/moesim) and PYTHON (the interpreter with PyTorch,
# default python3) may be set.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out/e2e}
shift || true
moesim=${MOESIM:-build/release/bin/moesim}
if [ ! -x "$moesim" ]; then
  echo "e2e: $moesim is not built (cmake --build build/release), or set MOESIM" >&2
  exit 2
fi
mkdir -p "$out"
"${PYTHON:-python3}" calibrate/e2e/moe_block_bench.py -o "$out/e2e.jsonl" "$@"
/usr/bin/python3 calibrate/e2e/compare.py "$moesim" "$out/e2e.jsonl" "$out/work" --json "$out/compare.json"
