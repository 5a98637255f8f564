#!/usr/bin/python3
"""A sweep's policies side by side (docs/results-placement.md): for each grid point,
each metric's mean over seeds per policy, and each policy's change against the
others as a paired mean over seeds (same seed = same arrivals and routing) with
its range over seeds. Prints a Markdown table.

usage: policy_table.py <sweep.json> <metric> [<metric> ...]
       e.g. policy_table.py out/vibe-power-clocks/sweep.json ttft_p90_ms expert_gap_us
"""
import json
import sys
from collections import defaultdict


def label(parameters):
    return ", ".join(json.dumps(v, separators=(",", ":")) if not isinstance(v, (int, float)) else str(v)
                     for _, v in sorted(parameters.items()))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        points = json.load(f)["points"]
    metrics = sys.argv[2:]
    by = defaultdict(dict)  # (point label) -> {(policy, seed): metrics}
    policies = []
    for p in points:
        if p.get("error"):
            continue
        by[label(p["parameters"])][(p["policy"], p["seed"])] = p["metrics"]
        if p["policy"] not in policies:
            policies.append(p["policy"])
    pairs = [(a, b) for i, a in enumerate(policies) for b in policies[i + 1:]]
    for metric in metrics:
        header = ["point"] + [f"{p} {metric}" for p in policies] + [f"{b} vs {a}" for a, b in pairs]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for point, runs in by.items():
            seeds = sorted({s for (_, s) in runs})
            ran = [p for p in policies if all((p, s) in runs for s in seeds)]  # a point a policy cannot run: "—"
            cells = [point] + [f"{sum(runs[(p, s)][metric] for s in seeds) / len(seeds):.1f}" if p in ran else "—"
                               for p in policies]
            for a, b in pairs:
                if a not in ran or b not in ran:
                    cells.append("—")
                    continue
                changes = [runs[(b, s)][metric] / runs[(a, s)][metric] - 1.0 for s in seeds]
                mean = sum(changes) / len(changes)
                cells.append(f"{mean * 100:+.1f}% ({min(changes) * 100:+.1f} … {max(changes) * 100:+.1f})")
            print("| " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
