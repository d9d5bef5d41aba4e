#!/usr/bin/env python3
"""ekg against the GAP Benchmark Suite (GAPBS, Beamer et al.) on the same graph, in the same run.

GAPBS is built from its upstream source in `../shared/peers/gapbs` (or GAPBS_SRC) in a folder
outside the project (GAPBS_BUILD, default ~/.cache/ekg-bench/gapbs): `make pr cc tc converter`
with the machine's g++ and OpenMP. The graph is `graphs.kronecker` at the given scale, written as
u32 pairs for ekg's bench binary and serialized once for GAPBS (`converter -sf G.el -b G.sg`,
symmetric), both cached in /tmp. Then, in alternating pairs (ekg first, then GAPBS, PAIRS times):

- PageRank, 20 iterations: ekg's bench binary's per-iteration time with its set-up (degree
  order and renumbering) × 20, against GAPBS `pr -i 20 -t 0` (pull, Gauss-Seidel, f32 scores)
  trial time, which includes its own set-up (the contribution array) but not the graph's build;
- WCC: ekg's weakly connected components against GAPBS `cc` (Afforest) trial time;
- triangles (optional, slow): ekg's triangle count against GAPBS `tc` trial time.

Prints each pair and the median ratio per kernel (below 1: ekg faster).

    python3 benches/gapbs.py 22 [--pairs 3] [--kernels pagerank,wcc] [--edge-factor 16]
Needs: numpy and pyarrow from PyPI.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from graphs import kronecker, write_u32

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GAPBS_SRC = Path(os.environ.get("GAPBS_SRC", ROOT.parent / "shared" / "peers" / "gapbs"))
GAPBS_BUILD = Path(os.environ.get("GAPBS_BUILD", Path.home() / ".cache" / "ekg-bench" / "gapbs"))
BINARIES = ["pr", "cc", "tc", "converter"]
EKG_KERNEL = {"pagerank": "pagerank", "wcc": "wcc", "triangles": "triangles"}


def build():
    """GAPBS's binaries, built outside the project tree; returns their folder."""
    if not (GAPBS_SRC / "Makefile").exists():
        sys.exit(f"no GAPBS source at {GAPBS_SRC} (set GAPBS_SRC)")
    if not all((GAPBS_BUILD / b).exists() for b in BINARIES):
        if GAPBS_BUILD.exists():
            shutil.rmtree(GAPBS_BUILD)
        shutil.copytree(GAPBS_SRC, GAPBS_BUILD)
        subprocess.run(["make", "-j", str(os.cpu_count() or 1), *BINARIES], cwd=GAPBS_BUILD, check=True, capture_output=True)
    return GAPBS_BUILD


def serialize(gapbs, u32_path):
    """The u32 edge list as GAPBS's serialized symmetric graph, made once."""
    sg = u32_path.with_suffix(".sg")
    if sg.exists() and sg.stat().st_mtime >= u32_path.stat().st_mtime:
        return sg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pairs = np.fromfile(u32_path, dtype="<u4").reshape(-1, 2)
    el = u32_path.with_suffix(".el")
    table = pa.table({"s": pairs[:, 0], "d": pairs[:, 1]})
    pacsv.write_csv(table, el, pacsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none"))
    subprocess.run([gapbs / "converter", "-sf", str(el), "-b", str(sg)], check=True, capture_output=True)
    el.unlink()
    return sg


def gapbs_seconds(gapbs, kernel, sg):
    """GAPBS's trial time for one kernel."""
    args = {
        "pagerank": ["pr", "-f", str(sg), "-i", "20", "-t", "0", "-n", "1"],
        "wcc": ["cc", "-f", str(sg), "-n", "1"],
        "triangles": ["tc", "-f", str(sg), "-n", "1"],
    }[kernel]
    out = subprocess.run([gapbs / args[0], *args[1:]], check=True, capture_output=True, text=True).stdout
    return float(re.findall(r"Trial Time:\s+([0-9.]+)", out)[-1])


def ekg_seconds(u32_path, kernels):
    """ekg's bench binary's seconds per kernel (PageRank as 20 iterations with set-up)."""
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "algorithms", "--", str(u32_path), ",".join(EKG_KERNEL[k] for k in kernels)], cwd=ROOT, check=True, capture_output=True, text=True)
    run = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: run[EKG_KERNEL[k]] * (20 if k == "pagerank" else 1) for k in kernels}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scale", type=int)
    parser.add_argument("--edge-factor", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--kernels", default="pagerank,wcc")
    args = parser.parse_args()
    kernels = args.kernels.split(",")
    gapbs = build()
    u32_path = Path(f"/tmp/kron{args.scale}.u32")
    if not u32_path.exists():
        n, src, dst = kronecker(args.scale, args.edge_factor)
        write_u32(u32_path, src, dst)
    sg = serialize(gapbs, u32_path)
    edges = u32_path.stat().st_size // 8
    print(f"Kronecker scale {args.scale}, {edges} undirected edges; threads {os.cpu_count()}; GAPBS {(GAPBS_SRC / 'UPSTREAM').read_text().split()[0][:12] if (GAPBS_SRC / 'UPSTREAM').exists() else ''}", flush=True)
    pairs = {k: [] for k in kernels}
    for pair in range(args.pairs):
        ekg = ekg_seconds(u32_path, kernels)
        for k in kernels:
            peer = gapbs_seconds(gapbs, k, sg)
            pairs[k].append((ekg[k], peer))
            print(f"  pair {pair + 1} {k}: ekg {ekg[k]:.3f} s, GAPBS {peer:.3f} s, ratio {ekg[k] / peer:.2f}", flush=True)
    print(f"{'kernel':<12} {'ekg s':>8} {'GAPBS s':>8} {'ekg/GAPBS':>10}  (medians of {args.pairs} alternating pairs)")
    for k in kernels:
        e = statistics.median(p[0] for p in pairs[k])
        g = statistics.median(p[1] for p in pairs[k])
        r = statistics.median(p[0] / p[1] for p in pairs[k])
        print(f"{k:<12} {e:>8.3f} {g:>8.3f} {r:>10.2f}")
    print(json.dumps({"scale": args.scale, "pairs": {k: [{"ekg": e, "gapbs": g} for e, g in v] for k, v in pairs.items()}}))


if __name__ == "__main__":
    main()
