"""Renders moesim's JSON outputs as PNG figures with matplotlib.

Run by the moesim binary (which embeds this file) as
    /usr/bin/python3 moesim_plot.py <kind> <input.json> <output.png>
Kinds:
    routing-heatmap   per-layer expert load share from `moesim trace stats` (routing)
    arrival-rate      request rate per window over time from `moesim trace stats` (arrivals)
    calibration-scatter  measured vs simulated times from `moesim calibrate validate`
    offload-latency   per-token latency vs expert-cache size per policy from `moesim offload`
    latency-cdf       TTFT and TPOT CDFs per policy from `moesim compare`
    imbalance-heatmap mean per-layer imbalance (max/mean GPU expert time) per policy from `moesim compare`
    plan-frontier     cost per hour vs SLO attainment of every cluster `moesim plan` evaluated
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
    ax.set_title(f"{scenario['name']}: {scenario['model']} on one {scenario['cluster']['gpu']}, batch 1")
    ax.legend()


def latency_cdf(stats, ax, fig):
    ax.remove()
    left, right = fig.subplots(1, 2)
    levels = [q / 100.0 for q in range(1, 100)]
    for policy in stats["policies"]:
        for axis, key in ((left, "ttft_cdf_s"), (right, "tpot_cdf_s")):
            values = [1e3 * v if v is not None else float("nan") for v in policy[key]]
            axis.plot(values, levels, label=policy["policy"])
    slo = stats["scenario"]["slo"]
    for axis, name, limit in ((left, "TTFT", slo["ttft_ms"]), (right, "TPOT", slo["tpot_ms"])):
        axis.axvline(limit, color="grey", linestyle="--", label=f"SLO {limit:g} ms")
        axis.set_xlabel(f"{name} [ms]")
        axis.set_ylabel("fraction of requests")
        axis.set_ylim(0, 1)
        axis.legend(fontsize=8)
    fig.suptitle(f"{stats['scenario']['name']}: latency CDFs ({stats['scenario']['model']})")


def imbalance_heatmap(stats, ax, fig):
    policies = [p["policy"] for p in stats["policies"]]
    rows = [p["imbalance_by_moe_layer"] for p in stats["policies"]]
    width = max((len(r) for r in rows), default=0)
    grid = [r + [float("nan")] * (width - len(r)) for r in rows]
    image = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="magma_r", vmin=1.0)
    ax.set_yticks(range(len(policies)))
    ax.set_yticklabels(policies)
    ax.set_xlabel("MoE layer")
    ax.set_title(f"{stats['scenario']['name']}: mean per-layer imbalance (slowest / mean GPU expert time)")
    fig.colorbar(image, ax=ax, label="imbalance (1 = perfectly balanced)")


def plan_frontier(stats, ax, _fig):
    points = [p for p in stats["points"] if "error" not in p]
    gpus = sorted({p["gpu"] for p in points})
    policies = sorted({p["policy"] for p in points})
    markers = "osD^v<>px*"
    for gi, gpu in enumerate(gpus):
        for pi, policy in enumerate(policies):
            mine = [p for p in points if p["gpu"] == gpu and p["policy"] == policy]
            if not mine:
                continue
            ax.scatter([p["usd_per_hour"] for p in mine], [100 * p["slo_attainment"] for p in mine],
                       color=f"C{gi}", marker=markers[pi % len(markers)], label=f"{gpu} / {policy}", alpha=0.8,
                       edgecolors=["black" if p["meets"] else "none" for p in mine])
    frontier = sorted((p for p in points if p["on_frontier"]), key=lambda p: p["usd_per_hour"])
    if frontier:
        ax.step([p["usd_per_hour"] for p in frontier], [100 * p["slo_attainment"] for p in frontier], where="post",
                color="grey", linestyle="--", label="frontier")
    cheapest = stats.get("cheapest")
    if cheapest:
        ax.scatter([cheapest["usd_per_hour"]], [100 * cheapest["slo_attainment"]], marker="*", s=300, color="gold",
                   edgecolors="black", zorder=5, label="cheapest meeting SLOs")
    ax.set_xlabel("cluster cost [$ / hour]")
    ax.set_ylabel("SLO attainment [% of requests]")
    slo = stats["slo"]
    ax.set_title(f"plan: P90 TTFT <= {slo['ttft_p90_ms']:g} ms, P90 TPOT <= {slo['tpot_p90_ms']:g} ms "
                 "(black edge: meets both)")
    ax.legend(fontsize=8)


KINDS = {"routing-heatmap": routing_heatmap, "arrival-rate": arrival_rate, "calibration-scatter": calibration_scatter,
         "offload-latency": offload_latency, "latency-cdf": latency_cdf, "imbalance-heatmap": imbalance_heatmap,
         "plan-frontier": plan_frontier}


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
