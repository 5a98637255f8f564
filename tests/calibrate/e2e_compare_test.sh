#!/usr/bin/env bash
# calibrate/e2e on a machine without a GPU: the PyTorch side refuses with exit 2, and
# the moesim side (compare.py) is checked against errors known by construction — a
# recorded-format sample whose "measured" times are moesim's own divided by 1.1 and
# 0.8 must come out at exactly +10% and −20%.
#   e2e_compare_test.sh <moesim> <source dir>
set -euo pipefail
moesim=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# No GPU (or no PyTorch) here: exit 2 with a message naming what is missing.
set +e
out=$(CUDA_VISIBLE_DEVICES= python3 "$src/calibrate/e2e/moe_block_bench.py" -o "$work/x.jsonl" 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "moe_block_bench.py without a GPU: exit $rc, expected 2 ($out)"
echo "$out" | grep -q -e "PyTorch is needed" -e "no CUDA GPU" || fail "moe_block_bench.py: no reason given ($out)"
[ ! -e "$work/x.jsonl" ] || fail "moe_block_bench.py left an output behind"

cat >"$work/sample.jsonl" <<'JSONL'
{"header": {"note": "a sample in the recorded format (not a measurement)"}}
{"model": "olmoe-1b-7b", "layers": 2, "device": "NVIDIA H100 80GB HBM3", "batch": 4, "prompt": 128, "prefill_ms": {"median": 1.0}, "decode_step_ms": {"median": 1.0}}
{"model": "olmoe-1b-7b", "layers": 2, "device": "NVIDIA H100 80GB HBM3", "batch": 16, "prompt": 256, "prefill_ms": {"median": 1.0}, "decode_step_ms": {"median": 1.0}}
JSONL
/usr/bin/python3 "$src/calibrate/e2e/compare.py" "$moesim" "$work/sample.jsonl" "$work/w1" --json "$work/c1.json" >/dev/null
# The same configurations with "measured" = moesim's prediction / 1.1 (prefill) and / 0.8 (decode).
/usr/bin/python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
rows = json.load(open(f"{work}/c1.json"))["rows"]
assert rows[0]["simulated_ttft_ms"] > 0 and rows[1]["simulated_ttft_ms"] > rows[0]["simulated_ttft_ms"], rows
with open(f"{work}/known.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps({"model": r["model"], "layers": r["layers"], "device": "NVIDIA H100 80GB HBM3", "batch": r["batch"],
                            "prompt": r["prompt"], "prefill_ms": {"median": r["simulated_ttft_ms"] / 1.1},
                            "decode_step_ms": {"median": r["simulated_tpot_ms"] / 0.8}}) + "\n")
PY
/usr/bin/python3 "$src/calibrate/e2e/compare.py" "$moesim" "$work/known.jsonl" "$work/w2" --json "$work/c2.json" >"$work/out.txt"
grep -q "MAPE: prefill iteration 10.0%, decode step 20.0% over 2 configurations" "$work/out.txt" || fail "$(cat "$work/out.txt")"

# The bench's routing trace is replayed: moe_block_bench.py's writer (moert.py) makes two
# traces for the same configuration — every token to experts 0-7, or tokens spread over
# all 64 — and moesim (reading Python's bytes, checksums and all) must time the spread
# prefill slower: 64 expert kernels with weight reads against 8.
mkdir -p "$work/t/e2e.jsonl.routing"
/usr/bin/python3 - "$src" "$work/t" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1] + "/calibrate/e2e")
import moert
out = sys.argv[2]
batch, prompt, layers, experts, top_k = 4, 128, 2, 64, 8
def trace(name, ids_of):
    requests = []
    for i in range(batch):
        prefill = [[e for t in range(prompt) for e in ids_of(i * prompt + t)] for _ in range(layers)]
        decode = [list(ids_of(i)) for _ in range(layers)]
        requests.append([(prompt, prefill), (1, decode)])
    moert.write(f"{out}/e2e.jsonl.routing/{name}.moert", "olmoe-1b-7b", layers, experts, top_k, requests, "e2e test")
trace("narrow", lambda t: range(8))
trace("wide", lambda t: [(8 * t + k) % experts for k in range(top_k)])
with open(f"{out}/e2e.jsonl", "w") as f:
    for name in ("narrow", "wide"):
        f.write(json.dumps({"model": "olmoe-1b-7b", "layers": layers, "device": "NVIDIA H100 80GB HBM3", "batch": batch,
                            "prompt": prompt, "prefill_ms": {"median": 1.0}, "decode_step_ms": {"median": 1.0},
                            "routing_trace": f"e2e.jsonl.routing/{name}.moert"}) + "\n")
PY
/usr/bin/python3 "$src/calibrate/e2e/compare.py" "$moesim" "$work/t/e2e.jsonl" "$work/w4" --json "$work/c4.json" >/dev/null
/usr/bin/python3 - "$work/c4.json" <<'PY' || fail "routing traces not replayed"
import json, sys
narrow, wide = json.load(open(sys.argv[1]))["rows"]
gap = wide["simulated_ttft_ms"] - narrow["simulated_ttft_ms"]
assert gap > 0.5, (narrow["simulated_ttft_ms"], wide["simulated_ttft_ms"])
PY

# Bad input: exit 2 naming the file, the line and the field.
echo '{"model": "olmoe-1b-7b", "layers": 2, "device": "H100", "batch": 0, "prompt": 128, "prefill_ms": {"median": 1}, "decode_step_ms": {"median": 1}}' >"$work/bad.jsonl"
set +e
out=$(/usr/bin/python3 "$src/calibrate/e2e/compare.py" "$moesim" "$work/bad.jsonl" "$work/w3" 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad input: exit $rc, expected 2"
echo "$out" | grep -q "bad.jsonl:1: .batch: expected a positive integer" || fail "bad input message: $out"
echo "e2e compare: ok"
