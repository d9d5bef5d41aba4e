#!/usr/bin/env python3
"""The distributed stages (`ekg score --processes N`) at several process counts on one machine.

For each portfolio size, generates it once (`ekg generate --firms N --seed S`, kept in WORK), then
runs `ekg score DATA --processes P` for each P and reads its manifest: wall seconds (and of them
the small-graph stages process 0 runs alone after the gather), every process's peak resident
memory during the distributed stages and process 0's at the end, and the bytes the workers sent
each other (partitioning the input; running the stages), per edge. The cores of this machine are shared by the processes, so
the time is not what a cluster would show; memory per process and bytes exchanged are what scale.

    python3 benches/distributed.py target/release/ekg --firms 100000,300000 --processes 1,2,4 --work /tmp/ekg-distributed
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ekg")
    parser.add_argument("--firms", default="100000,300000")
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default="2025-12-01")
    parser.add_argument("--work", default="/tmp/ekg-distributed")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print("| firms | processes | seconds | of them small-graph s | peak RSS per process (GiB) | process 0 at the end | exchanged: partition | stages | bytes per edge |")
    print("|---|---|---|---|---|---|---|---|---|")
    for firms in [int(x) for x in args.firms.split(",")]:
        data = work / f"g{firms}"
        if not (data / "firms.parquet").exists():
            subprocess.run([args.ekg, "generate", "--firms", str(firms), "--seed", str(args.seed), "--out", str(data), "--quiet", "--force", "--reveal-pii"], check=True)
        for processes in [int(x) for x in args.processes.split(",")]:
            out = work / f"d{firms}-p{processes}"
            started = time.monotonic()
            run = subprocess.run([args.ekg, "score", str(data), "--out", str(out), "--as-of", args.as_of, "--processes", str(processes), "--json", "--quiet", "--force", "--reveal-pii"], capture_output=True, text=True)
            seconds = time.monotonic() - started
            if run.returncode != 0:
                sys.exit(f"ekg score --processes {processes} on {firms} firms failed: {run.stderr}")
            manifest = json.loads((out / "manifest.json").read_text())
            peaks = [b / 2**30 for b in manifest["peak_rss_bytes_by_process"]]
            exchanged = manifest["exchanged_bytes"]
            small = manifest["small_graph_stages"]["seconds"]
            last = manifest["peak_rss_bytes_process_0_after_write"] / 2**30
            print(f"| {firms:,} | {processes} | {seconds:.1f} | {small:.1f} | {' / '.join(f'{p:.2f}' for p in peaks)} | {last:.2f} | "
                  f"{exchanged['partition'] / 1e6:,.0f} MB | {exchanged['stages'] / 1e6:,.0f} MB | {exchanged['per_edge']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
