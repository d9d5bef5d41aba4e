#!/usr/bin/env python3
"""The nightly job as a benchmark: `ekg score` end to end on generated portfolios of several sizes.

For each size, generates a portfolio (`ekg generate --firms N --seed S`, kept in WORK for the next
run), scores it once with `--json` as the nightly job runs by default (personal values
pseudonymised under the key of `--pii-key` or `EKG_PII_KEY_FILE`, else the user's) and prints seconds per stage (the rings stage also detector by
detector) and the peak resident memory, with each stage's growth against the smallest size divided by the growth in firms (1.0 = linear,
above 1 grows faster than the portfolio). Writes the figures as JSON for `benches/plots.py`.

    python3 benches/nightly.py target/release/ekg --firms 100000,300000,1000000 --work /tmp/nightly
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ekg")
    parser.add_argument("--firms", default="100000,300000,1000000")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default="2025-12-01")
    parser.add_argument("--work", default="/tmp/ekg-nightly")
    parser.add_argument("--json-out", help="where to write the figures (default: WORK/nightly.json)")
    parser.add_argument("--from-json", help="print the table of figures written earlier instead of running")
    args = parser.parse_args()
    if args.from_json:
        figures = json.loads(Path(args.from_json).read_text())
        print_table(figures["runs"], figures["seed"], figures["as_of"])
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in args.firms.split(",")]
    results = []
    for firms in sizes:
        data = work / f"g{firms}"
        if not (data / "firms.parquet").exists():
            subprocess.run([args.ekg, "generate", "--firms", str(firms), "--seed", str(args.seed), "--out", str(data), "--quiet", "--force", "--reveal-pii"], check=True)
        out = work / f"s{firms}"
        run = subprocess.run([args.ekg, "score", str(data), "--out", str(out), "--as-of", args.as_of, "--json", "--quiet", "--force"], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"ekg score on {firms} firms failed: {run.stderr}")
        summary = json.loads(run.stdout)
        stages = {s["stage"]: s["seconds"] for s in summary["stages"]}
        detectors = summary.get("ring_seconds_by_detector", {})
        peak = max(s["peak_rss_bytes"] for s in summary["stages"])
        results.append({"firms": firms, "seconds": summary["seconds"], "peak_rss_bytes": peak, "stages": stages, "detectors": detectors})
        print(f"scored {firms} firms in {summary['seconds']:.1f} s, peak {peak / 2**30:.2f} GiB", file=sys.stderr)
    Path(args.json_out or work / "nightly.json").write_text(json.dumps({"seed": args.seed, "as_of": args.as_of, "runs": results}, indent=1))
    print_table(results, args.seed, args.as_of)


def print_table(results, seed, as_of):
    base = results[0]
    stage_names = list(base["stages"])
    header = f"{'stage':<20}" + "".join(f"{r['firms']:>12,}" for r in results) + "".join(f"{'growth ' + str(r['firms'] // base['firms']) + 'x':>13}" for r in results[1:])
    print(f"ekg score, generated portfolios (seed {seed}), as of {as_of}: seconds per stage")
    print(header)
    def row(name, seconds):
        line = f"{name:<20}" + "".join(f"{seconds(r):>12.2f}" for r in results)
        for r in results[1:]:
            b, x = seconds(base), seconds(r)
            line += f"{(x / b) / (r['firms'] / base['firms']):>13.2f}" if b > 0.05 else f"{'-':>13}"
        print(line)

    for stage in stage_names:
        row(stage, lambda r: r["stages"].get(stage, 0.0))
        if stage == "rings":
            for detector in base.get("detectors", {}):
                row(f"  {detector}", lambda r: r.get("detectors", {}).get(detector, 0.0))
    print(f"{'total':<20}" + "".join(f"{r['seconds']:>12.2f}" for r in results) + "".join(f"{(r['seconds'] / base['seconds']) / (r['firms'] / base['firms']):>13.2f}" for r in results[1:]))
    print(f"{'peak RSS GiB':<20}" + "".join(f"{r['peak_rss_bytes'] / 2**30:>12.2f}" for r in results) + "".join(f"{(r['peak_rss_bytes'] / base['peak_rss_bytes']) / (r['firms'] / base['firms']):>13.2f}" for r in results[1:]))
    print("growth = (stage time at N / at the smallest N) / (N / smallest N): 1.0 is linear")


if __name__ == "__main__":
    main()
