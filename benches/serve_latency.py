"""Latency of `ekg serve`'s entity, ring and 2-hop neighbourhood answers on a scored graph.

    python3 benches/serve_latency.py EKG GRAPH SCORES [SAMPLES]

Starts `ekg serve GRAPH --scores SCORES` on a free port, picks SAMPLES (default 50) flagged
entities and rings from the alert queue (every k-th, so the sample spans the queue), times each
page's API answer over HTTP on loopback, and prints p50, p95 and max per route in milliseconds with
the answer sizes. The first request of each route is a warm-up and not counted.
"""

import json
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ekg, graph, scores = sys.argv[1:4]
samples = int(sys.argv[4]) if len(sys.argv) > 4 else 50

started = time.time()
server = subprocess.Popen([ekg, "serve", graph, "--scores", scores, "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True)
line = server.stdout.readline()
base = line.split("http://")[1].split("/")[0]
print(f"ekg serve up in {time.time() - started:.1f} s at {base}")


def get(path):
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://{base}{path}") as r:
        body = r.read()
    return (time.perf_counter() - t) * 1e3, len(body), json.loads(body)


try:
    _, _, alerts = get("/api/alerts?limit=1000")
    ids = [a["node_id"] for a in alerts["items"]]
    nodes = ids[:: max(1, len(ids) // samples)][:samples]
    _, _, rings = get("/api/rings?limit=1000")
    ring_ids = [r["ring_id"] for r in rings["items"]]
    ring_ids = ring_ids[:: max(1, len(ring_ids) // samples)][:samples]
    routes = {
        "entity /api/node/{id}": [f"/api/node/{urllib.parse.quote(i, safe='')}" for i in nodes],
        "ring /api/ring/{id}": [f"/api/ring/{r}" for r in ring_ids],
        "2-hop /api/neighborhood": [f"/api/neighborhood?id={urllib.parse.quote(i, safe='')}&hops=2" for i in nodes],
        "search /api/search": [f"/api/search?q={urllib.parse.quote(i[:8])}" for i in nodes],
        "alert queue /api/alerts": ["/api/alerts?limit=100&severity=high"] * min(samples, 10),
    }
    print(f"{'route':<26} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean KB':>8}")
    for name, paths in routes.items():
        get(paths[0])
        times, sizes = [], []
        for p in paths:
            ms, size, _ = get(p)
            times.append(ms)
            sizes.append(size)
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"{name:<26} {len(times):>4} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f} {statistics.mean(sizes) / 1024:>8.1f}")
finally:
    server.terminate()
    server.wait()
