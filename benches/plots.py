#!/usr/bin/env python3
"""The pictures in benches/README.md, drawn from the raw results in benches/results.

- `plots/peers.png`: ekg's time over each peer's, by kernel, on Kronecker scale 22 (the newest
  `peers-kron22-*.txt` and `gapbs-kron22-*.txt`), log scale, 1 = as fast as the peer;
- `plots/nightly.png`: `ekg score` seconds per stage and peak memory against portfolio size (the
  newest `nightly-*.json`), log-log, with a line of slope 1 for linear growth.

    python3 benches/plots.py        (needs matplotlib from PyPI)
"""

import json
import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PLOTS = HERE / "plots"


def newest(pattern):
    files = sorted(RESULTS.glob(pattern))
    return files[-1] if files else None


def last_json_line(path):
    for line in reversed(path.read_text().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(f"{path}: no JSON line")


def peers_plot():
    gapbs_file = newest("gapbs-kron22-*.txt")
    ratios = {}  # peer -> {kernel: ekg / peer}, each from the newest run that timed that kernel
    used = set()
    for path in sorted(RESULTS.glob("peers-kron22-*.txt")):
        r = last_json_line(path)
        for peer in ("networkit", "igraph"):
            found = {k: r["ekg"][k] / t for k, t in r.get(peer, {}).items() if t and r["ekg"].get(k) and not k.endswith("_modularity")}
            if found:
                ratios.setdefault(peer, {}).update(found)
                used.add(path)
    if gapbs_file:
        r = last_json_line(gapbs_file)
        for kernel, pairs in r["pairs"].items():
            values = sorted(p["ekg"] / p["gapbs"] for p in pairs)
            ratios.setdefault("gapbs", {})[kernel] = values[len(values) // 2]
    kernels = sorted({k for v in ratios.values() for k in v})
    names = {"networkit": "NetworKit 11.3", "igraph": "igraph", "gapbs": "GAPBS"}
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(ratios))
    for i, (peer, values) in enumerate(sorted(ratios.items())):
        xs = [k + (i - (len(ratios) - 1) / 2) * width for k in range(len(kernels))]
        ax.bar(xs, [values.get(k, float("nan")) for k in kernels], width, label=names.get(peer, peer))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(kernels)), kernels)
    ax.set_ylabel("ekg time / peer time (below 1: ekg faster)")
    sources = ", ".join(sorted({f.name for f in [*used, gapbs_file] if f}))
    ax.set_title("Kronecker scale 22, 2 threads\n" + textwrap.fill(sources, 110, break_on_hyphens=False), fontsize=8)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOTS / "peers.png", dpi=110)


def nightly_plot():
    path = newest("nightly-*.json")
    if not path:
        return
    runs = json.loads(path.read_text())["runs"]
    firms = [r["firms"] for r in runs]
    last = runs[-1]["stages"]
    top = sorted(last, key=last.get, reverse=True)[:8]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for stage in top:
        left.plot(firms, [r["stages"].get(stage, float("nan")) for r in runs], marker="o", label=stage)
    totals = [r["seconds"] for r in runs]
    left.plot(firms, totals, marker="s", color="black", linewidth=2, label="total")
    left.plot(firms, [totals[0] * f / firms[0] for f in firms], linestyle="--", color="grey", label="linear from the smallest")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("firms")
    left.set_ylabel("seconds")
    left.set_title("ekg score: the largest stages", fontsize=10)
    left.legend(fontsize=7)
    right.plot(firms, [r["peak_rss_bytes"] / 2**30 for r in runs], marker="o", color="tab:red")
    right.set_xscale("log")
    right.set_xlabel("firms")
    right.set_ylabel("peak resident memory, GiB")
    right.set_title(f"peak memory ({path.name})", fontsize=10)
    fig.tight_layout()
    fig.savefig(PLOTS / "nightly.png", dpi=110)


if __name__ == "__main__":
    PLOTS.mkdir(exist_ok=True)
    peers_plot()
    nightly_plot()
    print("wrote", ", ".join(str(p.relative_to(HERE)) for p in sorted(PLOTS.glob("*.png"))))
