#!/usr/bin/env python3
"""A payment hub under the flow detectors: time of `ekg run rings --detectors flows` against the
hub's transfer count, to show the cost grows about linearly (it was quadratic).

Usage: python3 benches/hub.py [EKG] [SIZES]   e.g. python3 benches/hub.py target/release/ekg 50000,100000,200000,1000000

Each dataset: one hub firm's account receives N transfers from 200 payers and pays N transfers to
200 payees, all within three days, amounts drawn from 1,000 to 100,000 (seeded), written as CSV.
Prints one row per size: transfers, seconds in the flows detector, seconds per million transfers.
"""

import datetime
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

EKG = sys.argv[1] if len(sys.argv) > 1 else "target/release/ekg"
SIZES = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "50000,100000,200000,1000000").split(",")]
COUNTERPARTIES = 200


def write_dataset(root: Path, n: int) -> None:
    rng = random.Random(n)
    firms = ["firm_id"] + ["HUB"] + [f"F{i}" for i in range(2 * COUNTERPARTIES)]
    (root / "firms.csv").write_text("\n".join(firms) + "\n")
    accounts = ["account_id,owner_id", "A-HUB,HUB"] + [f"A{i},F{i}" for i in range(2 * COUNTERPARTIES)]
    (root / "accounts.csv").write_text("\n".join(accounts) + "\n")
    start = 1_700_000_000
    with open(root / "transfers.csv", "w") as out:
        out.write("src_id,dst_id,amount,ts\n")
        for k in range(n):
            t = datetime.datetime.fromtimestamp(start + rng.randrange(3 * 86_400), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            amount = rng.uniform(1_000, 100_000)
            if k % 2 == 0:
                out.write(f"A{rng.randrange(COUNTERPARTIES)},A-HUB,{amount:.2f},{t}\n")
            else:
                out.write(f"A-HUB,A{COUNTERPARTIES + rng.randrange(COUNTERPARTIES)},{amount:.2f},{t}\n")


def main() -> None:
    print(f"{'transfers':>10} {'flows s':>9} {'s per M':>8}")
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            data = root / "data"
            data.mkdir()
            write_dataset(data, n)
            snapshot = root / "g.ekg"
            subprocess.run([EKG, "build", str(data), "--out", str(snapshot), "--quiet", "--as-of", "2030-01-01"], check=True,
                           stdout=subprocess.DEVNULL)
            result = subprocess.run([EKG, "run", "rings", "--graph", str(snapshot), "--detectors", "flows", "--out", str(root / "r"),
                                     "--json", "--quiet", "--reveal-pii"], check=True, capture_output=True, text=True)
            seconds = json.loads(result.stdout)["seconds_by_detector"]["flows"]
            print(f"{n:>10} {seconds:>9.2f} {seconds / n * 1e6:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
