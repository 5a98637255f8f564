#!/usr/bin/python3
"""moesim against a real GPU's end-to-end timings (docs/calibration.md, "End-to-end
check on a real GPU"): for each configuration in the JSON Lines that
moe_block_bench.py wrote, runs `moesim run` on the same single-GPU scenario — the
catalog model cut to the measured layer count, B requests of P prompt tokens arriving
together, one prefill iteration of all of them, then decode steps, uniform routing —
and compares the prefill iteration with moesim's TTFT and the decode step with its
TPOT. A line's "routing_trace" (a .moert the bench wrote, path relative to the JSON
Lines file) is replayed, so moesim routes every token to the expert the GPU ran;
without one, uniform routing. Prints a table and the MAPE of each; --json writes them.
Needs no GPU.

usage: compare.py <moesim> <e2e.jsonl> <work-folder> [--gpu h100-sxm] [--json out.json]
"""
import argparse
import csv
import json
import os
import subprocess
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DECODE_TOKENS = 8  # the first token from the prefill, then 7 decode steps


def fail(message):
    print(f"compare: {message}", file=sys.stderr)
    sys.exit(2)


def gpu_profile_for(device):
    for key, profile in (("H200", "h200-sxm"), ("H100", "h100-sxm"), ("A100", "a100-sxm"), ("MI325X", "mi325x"),
                         ("MI300X", "mi300x")):
        if key in device:
            return profile
    fail(f"no GPU profile known for device '{device}'; name one with --gpu")


def read_lines(path):
    rows = []
    try:
        with open(path) as f:
            for number, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    line = json.loads(text)
                except json.JSONDecodeError as e:
                    fail(f"{path}:{number}: not JSON ({e.msg})")
                if "header" in line:
                    continue
                for key in ("model", "layers", "device", "batch", "prompt", "prefill_ms", "decode_step_ms"):
                    if key not in line:
                        fail(f"{path}:{number}: missing .{key}")
                for key in ("prefill_ms", "decode_step_ms"):
                    if not isinstance(line[key], dict) or not line[key].get("median", 0) > 0:
                        fail(f"{path}:{number}: .{key}.median: expected a positive number")
                for key in ("layers", "batch", "prompt"):
                    if not isinstance(line[key], int) or line[key] < 1:
                        fail(f"{path}:{number}: .{key}: expected a positive integer")
                rows.append(line)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if not rows:
        fail(f"{path}: no measurements")
    return rows


def simulate(moesim, line, gpu, work, routing):
    """moesim's TTFT and TPOT (ms, means over the requests) for one configuration."""
    name = f"{line['model']}-{line['layers']}l-b{line['batch']}-p{line['prompt']}"
    folder = os.path.join(work, name)
    os.makedirs(folder, exist_ok=True)
    model_path = os.path.join(REPO, "models", "data", "models", line["model"] + ".json")
    if not os.path.exists(model_path):
        fail(f"unknown model '{line['model']}'")
    with open(model_path) as f:
        model = json.load(f)
    model["name"] = name
    model["layers"] = line["layers"]
    model.pop("reported_params", None)  # the cut model has other totals
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(model, f)
    with open(os.path.join(folder, "arrivals.csv"), "w") as f:
        f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        for _ in range(line["batch"]):
            f.write(f"2023-11-16 00:00:00.0000000,{line['prompt']},{DECODE_TOKENS}\n")
    batch_tokens = line["batch"] * line["prompt"]
    scenario = {
        "name": name, "seed": 1, "model": os.path.join(folder, "model.json"),
        "cluster": {"gpu": gpu, "topology": {"preset": "workstation-1"}, "variability": "none"},
        "workload": {"duration_s": 1,
                     "arrivals": {"kind": "trace", "format": "azure-llm-2023", "path": os.path.join(folder, "arrivals.csv")},
                     "routing": routing},
        "serving": {"max_batched_tokens": batch_tokens, "max_running_requests": line["batch"], "prefill_chunk": line["prompt"]},
        "placement": {"policy": "static-contiguous"}}
    with open(os.path.join(folder, "scenario.json"), "w") as f:
        json.dump(scenario, f, indent=2)
    result = subprocess.run([moesim, "run", os.path.join(folder, "scenario.json"), "--out", os.path.join(folder, "out")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"moesim run failed for {name}:\n{result.stdout}{result.stderr}")
    with open(os.path.join(folder, "out", "requests.csv")) as f:
        requests = list(csv.DictReader(f))
    if len(requests) != line["batch"]:
        fail(f"{name}: moesim served {len(requests)} of {line['batch']} requests")
    ttft = sum(float(r["ttft_s"]) for r in requests) / len(requests) * 1e3
    tpot = sum(float(r["tpot_s"]) for r in requests) / len(requests) * 1e3
    return ttft, tpot


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("moesim")
    parser.add_argument("measurements")
    parser.add_argument("work")
    parser.add_argument("--gpu", help="moesim GPU profile (name or .json); default: from the measured device")
    parser.add_argument("--json", help="also write the comparison here")
    args = parser.parse_args()
    rows = []
    for line in read_lines(args.measurements):
        gpu = args.gpu or gpu_profile_for(line["device"])
        routing = {"kind": "zipf", "skew": 0}
        if "routing_trace" in line:
            trace = os.path.join(os.path.dirname(os.path.abspath(args.measurements)), line["routing_trace"])
            if not os.path.isfile(trace):
                fail(f"{args.measurements}: routing_trace {line['routing_trace']} not found")
            routing = {"kind": "trace", "path": trace}
        ttft, tpot = simulate(args.moesim, line, gpu, args.work, routing)
        prefill, decode = line["prefill_ms"]["median"], line["decode_step_ms"]["median"]
        rows.append({"model": line["model"], "layers": line["layers"], "gpu": gpu, "batch": line["batch"],
                     "prompt": line["prompt"], "measured_prefill_ms": prefill, "simulated_ttft_ms": ttft,
                     "prefill_error": ttft / prefill - 1.0, "measured_decode_ms": decode, "simulated_tpot_ms": tpot,
                     "decode_error": tpot / decode - 1.0})
    print(f"{'B':>4} {'P':>6}  {'prefill ms':>10} {'moesim':>8} {'error':>7}  {'decode ms':>9} {'moesim':>8} {'error':>7}")
    for r in rows:
        print(f"{r['batch']:>4} {r['prompt']:>6}  {r['measured_prefill_ms']:>10.3f} {r['simulated_ttft_ms']:>8.3f} "
              f"{100 * r['prefill_error']:>+6.1f}%  {r['measured_decode_ms']:>9.3f} {r['simulated_tpot_ms']:>8.3f} "
              f"{100 * r['decode_error']:>+6.1f}%")
    summary = {"prefill_mape": sum(abs(r["prefill_error"]) for r in rows) / len(rows),
               "decode_mape": sum(abs(r["decode_error"]) for r in rows) / len(rows)}
    print(f"MAPE: prefill iteration {100 * summary['prefill_mape']:.1f}%, decode step {100 * summary['decode_mape']:.1f}% "
          f"over {len(rows)} configurations (target 5%)")
    if args.json:
        partial = args.json + ".partial"
        with open(partial, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=2)
        os.replace(partial, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
