#!/usr/bin/python3
"""MoEless sensitivity (docs/results-serverless.md): predictor accuracy, keep-alive
length and cold-start (runtime init) time, each swept on one scenario with
`moesim run`; writes <out>/sensitivity.csv and one PNG per study.

usage: serverless_sensitivity.py <moesim> <scenario.json> <out-folder>
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATH_KEYS = [("workload", "arrivals", "path"), ("workload", "routing", "path"),
             ("workload", "routing", "correlations", "fit_from")]


def absolute_paths(scenario, folder):
    """Scenario files name data relative to themselves; variants live elsewhere."""
    for keys in PATH_KEYS:
        node = scenario
        for k in keys[:-1]:
            node = node.get(k, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and keys[-1] in node:
            node[keys[-1]] = os.path.normpath(os.path.join(folder, node[keys[-1]]))


def run(moesim, scenario, work):
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=work, delete=False) as f:
        json.dump(scenario, f)
    out = os.path.join(work, "run")
    subprocess.run([moesim, "run", f.name, "--out", out], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.json")) as m:
        return json.load(m)


def row(study, value, metrics):
    s = metrics.get("serverless", {})
    return {"study": study, "value": value,
            "moe_layer_mean_ms": metrics["moe_layer_s"]["mean"] * 1e3,
            "moe_layer_p99_ms": metrics["moe_layer_s"]["p99"] * 1e3,
            "e2e_p99_s": metrics["e2e_s"]["p99"],
            "billed_gpu_seconds": metrics["cost"]["billed_gpu_seconds"],
            "expert_gb_seconds": metrics["cost"]["expert_gb_seconds"],
            "cold_starts": s.get("loads", 0), "cold_wait_s": s.get("cold_wait_s", 0.0),
            "forecast_share_mae": s.get("forecast_share_mae", 0.0)}


def plot(rows, study, x_label, metrics, path, categorical=False):
    sel = [r for r in rows if r["study"] == study]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4))
    for ax, (key, label) in zip(axes, metrics):
        xs = [str(r["value"]) for r in sel] if categorical else [float(r["value"]) for r in sel]
        ys = [r[key] for r in sel]
        if categorical:
            ax.bar(xs, ys, color="tab:blue")
            ax.tick_params(axis="x", rotation=30)
        else:
            ax.plot(xs, ys, marker="o")
            ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"MoEless sensitivity: {study}")
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=110)
    os.replace(path + ".tmp.png", path)
    plt.close(fig)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    moesim, scenario_path, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    with open(scenario_path) as f:
        base = json.load(f)
    absolute_paths(base, os.path.dirname(os.path.abspath(scenario_path)))
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for predictor in ["oracle", "error-model", "learned", "last-value", "ewma", "none"]:
            s = json.loads(json.dumps(base))
            s["placement"] = {"policy": "moeless", "predictor": predictor}
            rows.append(row("predictor", predictor, run(moesim, s, work)))
            print(f"predictor {predictor}", file=sys.stderr)
        for keep in [0, 0.5, 2, 10, 60, 600]:
            s = json.loads(json.dumps(base))
            s.setdefault("serverless", {})["keep_alive"] = (
                {"policy": "none"} if keep == 0 else {"policy": "fixed", "seconds": keep})
            rows.append(row("keep-alive", keep, run(moesim, s, work)))
            print(f"keep-alive {keep}", file=sys.stderr)
        for init_ms in [0, 10, 100, 500, 2000]:
            s = json.loads(json.dumps(base))
            s.setdefault("serverless", {})["init_ms"] = init_ms
            s["serverless"]["keep_alive"] = {"policy": "fixed", "seconds": 2}
            rows.append(row("cold-start", init_ms, run(moesim, s, work)))
            print(f"init {init_ms} ms", file=sys.stderr)
    with open(os.path.join(out, "sensitivity.csv.tmp"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    os.replace(os.path.join(out, "sensitivity.csv.tmp"), os.path.join(out, "sensitivity.csv"))
    plot(rows, "predictor", "predictor", [("moe_layer_mean_ms", "MoE layer mean [ms]"),
                                          ("moe_layer_p99_ms", "MoE layer P99 [ms]"),
                                          ("forecast_share_mae", "forecast share MAE")],
         os.path.join(out, "moeless-predictor.png"), categorical=True)
    plot(rows, "keep-alive", "keep-alive [s] (0 = none)", [("expert_gb_seconds", "expert GB-s"),
                                                           ("cold_starts", "cold starts"),
                                                           ("moe_layer_p99_ms", "MoE layer P99 [ms]")],
         os.path.join(out, "moeless-keep-alive.png"))
    plot(rows, "cold-start", "runtime init [ms] (keep-alive 2 s)", [("cold_wait_s", "cold-start wait [s]"),
                                                                   ("moe_layer_p99_ms", "MoE layer P99 [ms]"),
                                                                   ("e2e_p99_s", "E2E P99 [s]")],
         os.path.join(out, "moeless-cold-start.png"))
    print(f"Wrote {out}/sensitivity.csv and moeless-{{predictor,keep-alive,cold-start}}.png")


if __name__ == "__main__":
    main()
