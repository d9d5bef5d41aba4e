#!/usr/bin/env python3
"""The incremental night against a full night, in the same run.

Generates a portfolio (`ekg generate --firms N`), scores day D-1, then scores day D twice in
alternation: in full, and incrementally with `--previous` pointing at D-1 (one more day of
transfers). Prints seconds per stage, the stages reused and the ratio incremental / full.

    python3 benches/incremental_night.py target/release/ekg --firms 1000000 [--pairs 2]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def score(ekg, data, out, as_of, previous=None):
    args = [ekg, "score", str(data), "--out", str(out), "--as-of", as_of, "--json", "--quiet", "--force", "--reveal-pii"]
    if previous:
        args += ["--previous", str(previous)]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"ekg score failed: {result.stderr}")
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ekg")
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--day-before", default="2025-11-30")
    parser.add_argument("--day", default="2025-12-01")
    parser.add_argument("--work", help="folder for the data and outputs (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="ekg-incremental-"))
    data = work / "data"
    if not (data / "firms.parquet").exists():
        subprocess.run([args.ekg, "generate", "--firms", str(args.firms), "--seed", str(args.seed), "--out", str(data), "--quiet", "--force", "--reveal-pii"], check=True)
    score(args.ekg, data, work / "before", args.day_before)
    runs = {"full": [], "incremental": []}
    for _ in range(args.pairs):
        runs["full"].append(score(args.ekg, data, work / "full", args.day))
        runs["incremental"].append(score(args.ekg, data, work / "incremental", args.day, work / "before"))
    stages = [s["stage"] for s in runs["full"][0]["stages"]]
    seconds = {kind: {st: statistics.median(next(s["seconds"] for s in r["stages"] if s["stage"] == st) for r in rs) for st in stages} for kind, rs in runs.items()}
    total = {kind: statistics.median(r["seconds"] for r in rs) for kind, rs in runs.items()}
    peak = {kind: max(s["peak_rss_bytes"] for r in rs for s in r["stages"]) for kind, rs in runs.items()}
    print(f"ekg score, {args.firms} firms (seed {args.seed}), day {args.day} after {args.day_before}; median of {args.pairs} alternating pairs")
    print(f"stages reused by the incremental night: {', '.join(runs['incremental'][0]['reused']) or 'none'}")
    print(f"{'stage':<12} {'full s':>9} {'incremental s':>14}")
    for st in stages:
        print(f"{st:<12} {seconds['full'][st]:>9.2f} {seconds['incremental'].get(st, 0.0):>14.2f}")
    for st in [s["stage"] for s in runs["incremental"][0]["stages"] if s["stage"] not in stages]:
        print(f"{st:<12} {'':>9} {statistics.median(next(s['seconds'] for s in r['stages'] if s['stage'] == st) for r in runs['incremental']):>14.2f}")
    print(f"{'total':<12} {total['full']:>9.2f} {total['incremental']:>14.2f}   incremental / full = {total['incremental'] / total['full']:.2f}")
    print(f"peak RSS: full {peak['full'] / 2**30:.2f} GiB, incremental {peak['incremental'] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
