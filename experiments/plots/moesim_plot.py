"""Renders moesim's JSON outputs as PNG figures with matplotlib.

Run by the moesim binary (which embeds this file) as
    /usr/bin/python3 moesim_plot.py <kind> <input.json> <output.png>
Kinds:
    routing-heatmap   per-layer expert load share from `moesim trace stats` (routing)
    arrival-rate      request rate per window over time from `moesim trace stats` (arrivals)
    calibration-scatter  measured vs simulated times from `moesim calibrate validate`
    offload-latency   per-token latency vs expert-cache size per policy from `moesim offload`
Debian's python3-matplotlib (installed by scripts/setup) provides matplotlib.
"""
import json
import sys

import matplotlib
import matplotlib.colors

matplotlib.use("Agg")  # no display: render straight to PNG
import matplotlib.pyplot as plt  # noqa: E402

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100  # 1000 x 600 pixels


def routing_heatmap(stats, ax, fig):
    load = [layer["load"] for layer in stats["layers"]]
    share = []
    for row in load:
        total = float(sum(row)) or 1.0
        share.append([x / total for x in row])
    # Square-root colour scale: one dominant expert (share ~1) must not flatten the rest.
    image = ax.imshow(share, aspect="auto", interpolation="nearest", cmap="viridis",
                      norm=matplotlib.colors.PowerNorm(gamma=0.5))
    ax.set_xlabel("expert")
    ax.set_ylabel("MoE layer")
    ax.set_title(f"{stats['model']}: share of each layer's expert load "
                 f"({stats['requests']} requests, {stats['tokens']} tokens)")
    fig.colorbar(image, ax=ax, label="share of layer load")


def arrival_rate(stats, ax, _fig):
    window = stats["window_s"]
    counts = stats["window_counts"]
    minutes = [i * window / 60.0 for i in range(len(counts))]
    ax.step(minutes, [c / window for c in counts], where="post")
    ax.axhline(stats["mean_rate_per_s"], color="grey", linestyle="--", label="mean")
    ax.set_xlabel("time since first arrival [min]")
    ax.set_ylabel(f"arrivals per second ({window:g}-s windows)")
    ax.set_title(f"{stats['path']}: {stats['requests']} requests, "
                 f"inter-arrival CV {stats['inter_arrival_cv']:.2f}")
    ax.legend()


def calibration_scatter(stats, ax, _fig):
    measured = [p[0] for p in stats["points"]]
    simulated = [p[1] for p in stats["points"]]
    ax.loglog(measured, simulated, ".", alpha=0.5)
    lo, hi = min(measured + simulated), max(measured + simulated)
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--", label="simulated = measured")
    ax.set_xlabel("measured [µs]")
    ax.set_ylabel("simulated [µs]")
    worst = ", ".join(f"{o['op']} {o['shape']}: MAPE {100 * o['mape']:.1f}%" for o in stats["ops"][:4])
    ax.set_title(f"measured vs simulated ({worst})", fontsize=8)
    ax.legend()


def offload_latency(stats, ax, _fig):
    by_policy = {}
    for run in stats["runs"]:
        if run["per_token_latency_s"] is not None:
            by_policy.setdefault(run["policy"], []).append((100 * run["cache_fraction"], run["per_token_latency_s"]))
    for policy, points in by_policy.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=policy)
    scenario = stats["scenario"]
    ax.set_xlabel("expert cache [% of all experts on the GPU]")
    ax.set_ylabel("per-token decode latency [s]")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{scenario['name']}: {scenario['model']} on one {scenario['gpu']}, batch 1")
    ax.legend()


KINDS = {"routing-heatmap": routing_heatmap, "arrival-rate": arrival_rate, "calibration-scatter": calibration_scatter,
         "offload-latency": offload_latency}


def main(argv):
    if len(argv) != 4 or argv[1] not in KINDS:
        sys.stderr.write(f"usage: {argv[0]} {{{','.join(KINDS)}}} input.json output.png\n")
        return 2
    with open(argv[2], encoding="utf-8") as f:
        stats = json.load(f)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    KINDS[argv[1]](stats, ax, fig)
    fig.tight_layout()
    fig.savefig(argv[3], dpi=DPI, format="png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
