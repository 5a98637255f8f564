#!/usr/bin/python3
"""SLO attainment and P90 TTFT against a swept value, one line per policy and one
panel per group (e.g. per model), from the sweep.csv files `moesim sweep` writes.
Used for ViBE's setup (docs/results-placement.md): SLO frontiers against arrival rate.

usage: sweep_frontier.py <x-column> <group-column> <out.png> <title>=<sweep.csv> [...]
  e.g. sweep_frontier.py '$.workload.arrivals.rate_per_s' '$.model' vibe.png \\
           Sonnet=out/vibe-paper-sonnet/sweep.csv ShareGPT=out/vibe-paper-sharegpt/sweep.csv
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS = [("slo_attainment", "SLO attainment [%]", 100.0), ("ttft_p90_ms", "P90 TTFT [ms]", 1.0)]


def read(path, x_col, group_col):
    """{group: {policy: [(x, row)]}} in file order."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("error"):
                continue
            by_policy = out.setdefault(row[group_col], {})
            by_policy.setdefault(row["policy"], []).append((float(row[x_col]), row))
    return out


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    x_col, group_col, png = argv[1], argv[2], argv[3]
    panels = []
    for spec in argv[4:]:
        title, _, path = spec.partition("=")
        for group, by_policy in read(path, x_col, group_col).items():
            panels.append((f"{title}: {group}", by_policy))
    fig, axes = plt.subplots(len(METRICS), len(panels), figsize=(4.0 * len(panels), 7.0), squeeze=False)
    for col, (title, by_policy) in enumerate(panels):
        for row, (metric, label, scale) in enumerate(METRICS):
            ax = axes[row][col]
            for policy, points in by_policy.items():
                points.sort(key=lambda p: p[0])
                ax.plot([p[0] for p in points], [float(p[1][metric]) * scale for p in points], marker="o", label=policy)
            if metric == "ttft_p90_ms":
                ax.set_yscale("log")
            ax.set_xlabel(x_col)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(title, fontsize=10)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


if __name__ == "__main__":
    main(sys.argv)
