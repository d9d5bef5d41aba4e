#!/usr/bin/env python3
"""What the graph adds to a default model: AUC of firm data alone, with the graph features the
lending issue started from, and with all of them, on generated worlds scored at a past instant.

    benches/auc_lift.py target/release/ekg [--firms 50000] [--seeds 3,4,5] [--work DIR]

For each seed: `ekg generate`, then `ekg score --as-of T` with T the middle of the transfer year.
The population is every firm not defaulted at T; the label is a default after T. The generator
derives `pd` and `status` from the final default label, so both are removed from firms.parquet
before scoring (a model or feature that saw them would see the answer). Features at T see only
what happened by T (the as-of contract), so nothing later leaks in.

Model: L2-regularised logistic regression (Newton steps, numpy only) on standardised features,
5-fold cross-validated AUC (Mann-Whitney). Also prints the single-feature AUC of each new feature.
"""
import argparse
import datetime as dt
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Features added by the lending issue (segments, size, social capital, tenure, stress channels).
NEW = {
    "size_class", "size_basis", "behaviour_segment", "segment_default_rate", "segment_deviation",
    "industry_region_default_rate", "controller_other_firms", "controller_defaulted_share",
    "controller_mean_pd", "controller_guarantees_given", "officer_other_firms",
    "officer_defaulted_share", "legal_rep_tenure_years", "officer_mean_tenure_years",
    "stress_guarantee_share", "stress_equity_share", "stress_downstream_share",
    "stress_upstream_share", "controller_ring_count", "network_firms", "network_defaulted_share",
}
# Identifiers and bookkeeping, not signals.
SKIP = {"node_id", "kind", "as_of", "event_timestamp", "controller_id", "community", "group_id",
        "control_basis"}
CATEGORICAL = {"size_class", "size_basis", "behaviour_segment", "control_basis"}


def auc(score, label):
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    s = score[order]
    # Average ranks over ties.
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = label.sum()
    neg = len(label) - pos
    return (ranks[label].sum() - pos * (pos + 1) / 2) / (pos * neg)


def logistic(x, y, lam=1.0, steps=25):
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], lam)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + reg * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def cv_auc(x, y, folds=5, seed=0):
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for cls in (False, True):
        idx = np.flatnonzero(y == cls)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
    out = []
    for k in range(folds):
        train, test = fold != k, fold == k
        mu, sd = x[train].mean(0), x[train].std(0)
        sd[sd == 0] = 1
        w = logistic((x[train] - mu) / sd, y[train].astype(float))
        xt = np.hstack([(x[test] - mu) / sd, np.ones((test.sum(), 1))])
        out.append(auc(xt @ w, y[test]))
    return np.mean(out), np.std(out)


def columns(table, names):
    """Numeric design matrix: signed log of heavy tails, a missing indicator where values are
    missing, one-hot for categories."""
    cols, labels = [], []
    for name in names:
        col = table.column(name)
        if name in CATEGORICAL or pa.types.is_string(col.type) or pa.types.is_dictionary(col.type):
            values = np.array([str(v) for v in col.to_pylist()])
            for level in sorted(set(values))[1:]:
                cols.append((values == level).astype(float))
                labels.append(f"{name}={level}")
            continue
        v = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
        missing = ~np.isfinite(v)
        v = np.where(missing, 0.0, v)
        cols.append(np.sign(v) * np.log1p(np.abs(v)))
        labels.append(name)
        if missing.any() and not missing.all():
            cols.append(missing.astype(float))
            labels.append(f"{name}?")
    return np.column_stack(cols) if cols else np.empty((table.num_rows, 0)), labels


def world(ekg, firms, seed, work):
    data, out = work / f"world-{seed}", work / f"scores-{seed}"
    subprocess.run([ekg, "generate", "--firms", str(firms), "--seed", str(seed), "--out", str(data), "--quiet"], check=True, stdout=sys.stderr)
    table = pq.read_table(data / "firms.parquet")
    pq.write_table(table.drop_columns(["pd", "status"]), data / "firms.parquet")
    ts = pq.read_table(data / "transfers.parquet").column("ts")
    lo, hi = pc.min_max(ts).values()
    as_of = lo.as_py() + (hi.as_py() - lo.as_py()) / 2
    subprocess.run([ekg, "score", str(data), "--out", str(out), "--as-of", as_of.strftime("%Y-%m-%dT%H:%M:%SZ"), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    features = pq.read_table(out / "features.parquet")
    firms_f = features.filter(pc.equal(features.column("kind"), "firm"))
    assert firms_f.column("node_id").to_pylist() == table.column("firm_id").to_pylist(), "firm rows in input order"
    when = table.column("defaulted_on").to_pylist()
    cutoff = as_of.date()
    alive = np.array([d is None or d > cutoff for d in when])
    label = np.array([d is not None and d > cutoff for d in when])
    founded = table.column("founded").to_pylist()
    age = np.array([(cutoff - d).days / 365.25 if d else np.nan for d in founded])
    firm_only = [np.log1p(np.nan_to_num(table.column(c).to_numpy(zero_copy_only=False).astype(float)))
                 for c in ("registered_capital", "employees", "revenue", "total_assets")]
    firm_only.append(np.nan_to_num(age))
    base = np.column_stack(firm_only)
    cats, _ = columns(table.select(["industry", "region"]), ["industry", "region"])
    base = np.hstack([base, cats])
    graph_names = [c for c in features.column_names if c not in SKIP]
    before, _ = columns(firms_f, [c for c in graph_names if c not in NEW])
    new_names = [c for c in graph_names if c in NEW]
    after, _ = columns(firms_f, new_names)
    return base[alive], before[alive], after[alive], label[alive], firms_f.filter(pa.array(alive)), new_names, as_of


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ekg")
    ap.add_argument("--firms", type=int, default=50000)
    ap.add_argument("--seeds", default="3,4,5")
    ap.add_argument("--work", type=pathlib.Path)
    args = ap.parse_args()
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="ekg-auc-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        base, before, after, y, firms_f, new_names, as_of = world(args.ekg, args.firms, seed, work)
        sets = {"firm data": base, "+ graph (before)": np.hstack([base, before]),
                "+ graph (all)": np.hstack([base, before, after])}
        result = {name: cv_auc(x, y) for name, x in sets.items()}
        rows.append((seed, int(y.sum()), len(y), result))
        print(f"seed {seed}: as-of {as_of:%Y-%m-%d}, {len(y)} firms alive, {int(y.sum())} default later", file=sys.stderr)
        singles = []
        for name in new_names:
            x, _ = columns(firms_f, [name])
            if x.shape[1] == 0:
                continue
            a = max(cv_auc(x, y)[0], 0.0)
            singles.append((a, name))
        strongest = []
        for name in [c for c in firms_f.column_names if c not in SKIP and c not in NEW]:
            x, _ = columns(firms_f, [name])
            if x.shape[1]:
                strongest.append((cv_auc(x, y)[0], name))
        print("  strongest single features (before): " + ", ".join(f"{n} {a:.3f}" for a, n in sorted(strongest, reverse=True)[:8]), file=sys.stderr)
        print("  single-feature AUC (new): " + ", ".join(f"{n} {a:.3f}" for a, n in sorted(singles, reverse=True)), file=sys.stderr)
    print("| seed | firms alive at T | later defaults | firm data | + graph (before) | + graph (all) |")
    print("|---|---|---|---|---|---|")
    for seed, pos, n, r in rows:
        cells = " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in r.values())
        print(f"| {seed} | {n} | {pos} | {cells} |")


if __name__ == "__main__":
    main()
