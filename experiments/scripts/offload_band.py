#!/usr/bin/python3
"""Assumption band of an offload comparison (docs/results-offload.md): reruns
`moesim offload` with one assumed constant at a time moved to each end of its
plausible range — host link bandwidth, per-copy overhead, the GPU's memory and
compute efficiencies — and reports each policy's s/token and hit rate over the band,
and which pairwise verdicts any variant reverses. Writes <out>/band.csv and
<out>/band.md.

usage: offload_band.py <moesim> <offload-scenario.json> <out-folder> [policies]
"""
import csv
import json
import os
import subprocess
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# (label, how to change the scenario). Ranges and their sources: docs/results-offload.md.
def variants(gpu_profile):
    def pcie(gb):
        return lambda s: s["cluster"].setdefault("topology", {}).update({"pcie_gb_per_s": gb})

    def overhead(us):
        return lambda s: s.setdefault("offload", {}).update({"copy_overhead_us": us})

    def efficiency(key, value):
        def change(s):
            s["cluster"]["gpu"] = dict(gpu_profile, **{key: value})
        return change

    return [("nominal", lambda s: None),
            ("host link 20 GB/s", pcie(20)), ("host link 27.5 GB/s", pcie(27.5)),
            ("copy overhead 5 us", overhead(5)), ("copy overhead 20 us", overhead(20)),
            ("memory efficiency -0.15", efficiency("memory_efficiency", gpu_profile["memory_efficiency"] - 0.15)),
            ("memory efficiency +0.12", efficiency("memory_efficiency", min(0.99, gpu_profile["memory_efficiency"] + 0.12))),
            ("compute efficiency -0.15", efficiency("compute_efficiency", gpu_profile["compute_efficiency"] - 0.15)),
            ("compute efficiency +0.15", efficiency("compute_efficiency", min(0.99, gpu_profile["compute_efficiency"] + 0.15)))]


def anchor_paths(node, folder):
    """Data files are named relative to the scenario; the variants live elsewhere."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("path", "fit_from") and isinstance(value, str):
                node[key] = os.path.normpath(os.path.join(folder, value))
            else:
                anchor_paths(value, folder)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    moesim, scenario_path, out = sys.argv[1:4]
    with open(scenario_path) as f:
        base = json.load(f)
    anchor_paths(base, os.path.dirname(os.path.abspath(scenario_path)))
    with open(os.path.join(REPO, "models", "data", "gpus", base["cluster"]["gpu"] + ".json")) as f:
        gpu_profile = json.load(f)
    os.makedirs(out, exist_ok=True)
    rows = []
    for i, (label, change) in enumerate(variants(gpu_profile)):
        scenario = json.loads(json.dumps(base))
        change(scenario)
        if isinstance(scenario["cluster"]["gpu"], dict):  # a changed profile goes in its own file
            profile_path = os.path.join(out, f"gpu-{i}.json")
            with open(profile_path, "w") as f:
                json.dump(scenario["cluster"]["gpu"], f)
            scenario["cluster"]["gpu"] = profile_path
        path = os.path.join(out, f"variant-{i}.json")
        with open(path, "w") as f:
            json.dump(scenario, f)
        command = [moesim, "offload", path, "--out", os.path.join(out, f"variant-{i}")]
        if len(sys.argv) == 5:
            command += ["--policies", sys.argv[4]]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, f"variant-{i}", "offload.json")) as f:
            for r in json.load(f)["runs"]:
                rows.append({"variant": label, "policy": r["policy"], "cache_experts": r["cache_experts"],
                             "s_per_token": r["per_token_latency_s"], "hit_rate": r["hit_rate"]})
    with open(os.path.join(out, "band.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    labels = [v for v, _ in variants(gpu_profile)]
    policies = [r["policy"] for r in rows if r["variant"] == "nominal"]
    by = {(r["variant"], r["policy"]): r for r in rows}
    first = policies[0]
    lines = [f"| policy | s/token nominal | s/token band | hit rate band | speed-up over {first}, band |", "|---|---|---|---|---|"]
    for p in policies:
        s = [by[(v, p)]["s_per_token"] for v in labels]
        h = [by[(v, p)]["hit_rate"] for v in labels]
        x = [by[(v, first)]["s_per_token"] / by[(v, p)]["s_per_token"] for v in labels]
        lines.append(f"| {p} | {s[0]:.3f} | {min(s):.3f} – {max(s):.3f} | {min(h):.2f} – {max(h):.2f} | "
                     f"{x[0]:.2f}× ({min(x):.2f} – {max(x):.2f}) |")
    # A verdict is "a is faster than b by more than 1% at the nominal constants"; it flips
    # when some variant has a no faster than b.
    flips = []
    for a in policies:
        for b in policies:
            if by[("nominal", a)]["s_per_token"] < 0.99 * by[("nominal", b)]["s_per_token"]:
                flipped = [v for v in labels[1:] if by[(v, a)]["s_per_token"] >= by[(v, b)]["s_per_token"]]
                if flipped:
                    flips.append(f"- {a} faster than {b}: reversed under {', '.join(flipped)}")
    lines.append("")
    lines.append("Verdicts (faster by > 1% at the nominal constants) reversed by a variant:")
    lines += flips or ["- none"]
    with open(os.path.join(out, "band.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
