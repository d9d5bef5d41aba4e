#!/usr/bin/env bash
# Build benchmark at scale: generate a dataset, build its snapshot (wall time and peak RSS), then
# open the snapshot (median of 5). Usage: benches/build_scale.sh FIRMS TRANSFERS_PER_FIRM WORKDIR
# 1M nodes:        benches/build_scale.sh 222000 16 /tmp/ekg-bench
# 10M nodes, 100M relations: benches/build_scale.sh 2250000 37 /tmp/ekg-bench
set -euo pipefail
firms=${1:-222000}; per_firm=${2:-16}; work=${3:-/tmp/ekg-bench}
cd "$(dirname "$0")/.."
cargo build --release --quiet
ekg=$PWD/target/release/ekg
mkdir -p "$work"; data="$work/d$firms-$per_firm"; snap="$data.ekg"
[ -d "$data" ] || /usr/bin/time -f "generate: %e s wall, %M KB peak" "$ekg" generate --quiet --firms "$firms" --transfers-per-firm "$per_firm" --out "$data"
sync
/usr/bin/time -f "build: %e s wall, %M KB peak RSS" "$ekg" build --quiet "$data" --out "$snap" --as-of 2026-01-01 --force
for _ in 1 2 3 4 5; do /usr/bin/time -f "%e" "$ekg" info "$snap" --json 2>>"$work/open.times" >/dev/null; done
echo "open snapshot + info (median of 5): $(sort -n "$work/open.times" | sed -n 3p) s"; rm -f "$work/open.times"
"$ekg" info "$snap" | grep -E "^nodes|total"
echo "relations: $("$ekg" info "$snap" --json | python3 -c 'import json,sys; print(sum(r["edges"] for r in json.load(sys.stdin)["relations"]))')"
