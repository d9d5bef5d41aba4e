//! Findings do not depend on how the input happens to be written: renaming every entity by a
//! random bijection and shuffling the rows of every table leave every ring (kind, score and
//! evidence), every case of the review queue and every flag unchanged, up to the renaming;
//! shuffling alone leaves every feature unchanged too; moving every time and the as-of day by 52
//! weeks leaves the findings unchanged up to the move, and every feature. The dataset is the independently written
//! one of `as_of.rs` plus a fan-out, a scatter-gather and a shared-identifier ring.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::as_of::{account, base, firm, instant, score_as_of, Tables};
use super::{read_parquet_column_f64, read_parquet_column_str, read_parquet_column_ts_opt, read_parquet_column_u64};

/// Every id token (`F…`, `P…`, `A…`, `L…` followed by digits) renamed through `map`.
fn rename(body: &str, map: &HashMap<String, String>) -> String {
    body.lines()
        .map(|line| line.split(',').map(|field| map.get(field).map_or(field, String::as_str)).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn shuffled(body: &str, rng: &mut ChaCha8Rng) -> String {
    let mut lines: Vec<&str> = body.lines().collect();
    lines.shuffle(rng);
    lines.join("\n") + "\n"
}

/// The ids used anywhere in the tables.
fn ids(t: &Tables) -> BTreeSet<String> {
    let all = [
        &t.firms,
        &t.persons,
        &t.accounts,
        &t.loans,
        &t.shareholdings,
        &t.officers,
        &t.transfers,
        &t.guarantees,
        &t.supply_links,
        &t.identifiers,
    ];
    let is_id = |f: &str| {
        let mut c = f.chars();
        matches!(c.next(), Some('F' | 'P' | 'A' | 'L')) && f.len() > 1 && c.all(|x| x.is_ascii_digit())
    };
    all.iter().flat_map(|b| b.lines().flat_map(|l| l.split(',').filter(|f| is_id(f)).map(str::to_string).collect::<Vec<_>>())).collect()
}

/// Rings as (kind, score, evidence as (src, dst, relation, ts)) and flags as (node, flag,
/// severity), with ids read back through `back`.
/// Cases as the sets of their rings, each with its lead kind.
/// An evidence edge: source, target, relation, time.
type Hop = (String, String, String, Option<i64>);
type RingKey = (String, String, Vec<Hop>);
type Findings = (BTreeSet<RingKey>, BTreeSet<(String, String, String)>, BTreeSet<(String, Vec<RingKey>)>);

fn findings(out: &Path, back: &dyn Fn(&str) -> String) -> Findings {
    let rings_path = out.join("rings.parquet");
    let (ids, kinds, scores) = (
        read_parquet_column_str(&rings_path, "ring_id"),
        read_parquet_column_str(&rings_path, "kind"),
        read_parquet_column_f64(&rings_path, "score"),
    );
    let edges = out.join("ring_edges.parquet");
    let (ring, src, dst, relation, ts) = (
        read_parquet_column_str(&edges, "ring_id"),
        read_parquet_column_str(&edges, "src_id"),
        read_parquet_column_str(&edges, "dst_id"),
        read_parquet_column_str(&edges, "relation"),
        read_parquet_column_ts_opt(&edges, "ts"),
    );
    let mut evidence: HashMap<Option<String>, Vec<Hop>> = HashMap::new();
    for i in 0..ring.len() {
        let id = |x: &Option<String>| back(x.as_deref().unwrap_or(""));
        let relation = relation[i].clone().unwrap_or_default();
        let (mut s, mut d) = (id(&src[i]), id(&dst[i]));
        // Shared identifiers and legal representatives link two entities with no direction.
        if relation.starts_with("shared_") && s > d {
            std::mem::swap(&mut s, &mut d);
        }
        evidence.entry(ring[i].clone()).or_default().push((s, d, relation, ts[i]));
    }
    let keys: Vec<RingKey> = ids
        .iter()
        .zip(&kinds)
        .zip(&scores)
        .map(|((id, kind), score)| {
            let mut e = evidence.remove(id).unwrap_or_default();
            e.sort();
            (kind.clone().unwrap_or_default(), format!("{score:.9}"), e)
        })
        .collect();
    let case_of = read_parquet_column_u64(&rings_path, "case_id");
    let lead_kind = read_parquet_column_str(&out.join("cases.parquet"), "lead_kind");
    let mut members: HashMap<u64, Vec<RingKey>> = HashMap::new();
    for (key, case) in keys.iter().zip(&case_of) {
        members.entry(*case).or_default().push(key.clone());
    }
    let cases = members
        .into_iter()
        .map(|(case, mut rings)| {
            rings.sort();
            (lead_kind[case as usize].clone().unwrap_or_default(), rings)
        })
        .collect();
    let rings = keys.into_iter().collect();
    let flags_path = out.join("flags.parquet");
    let (node, flag, severity) = (
        read_parquet_column_str(&flags_path, "node_id"),
        read_parquet_column_str(&flags_path, "flag"),
        read_parquet_column_str(&flags_path, "severity"),
    );
    let flags = (0..node.len())
        .map(|i| (back(node[i].as_deref().unwrap_or("")), flag[i].clone().unwrap_or_default(), severity[i].clone().unwrap_or_default()))
        .collect();
    (rings, flags, cases)
}

/// `original` and `moved` written and scored as of their days: the temporary folder (the outputs
/// live while it does) and the two output folders.
fn score_pair(original: &Tables, moved: &Tables, as_of: [&str; 2]) -> (tempfile::TempDir, [std::path::PathBuf; 2]) {
    let dir = tempfile::tempdir().expect("temp");
    let outs = [dir.path().join("out_a"), dir.path().join("out_b")];
    for ((tables, name), (out, day)) in [(original, "a"), (moved, "b")].into_iter().zip(outs.iter().zip(as_of)) {
        tables.write(&dir.path().join(name));
        score_as_of(&dir.path().join(name), out, day);
    }
    (dir, outs)
}

/// The same findings in both sets, or the ones only in each.
fn assert_same<T: Ord + std::fmt::Debug>(a: &BTreeSet<T>, b: &BTreeSet<T>, what: &str) {
    let (only_a, only_b): (Vec<_>, Vec<_>) = (a.difference(b).collect(), b.difference(a).collect());
    assert!(only_a.is_empty() && only_b.is_empty(), "{what} differ:\n  original only: {only_a:?}\n  transformed only: {only_b:?}");
}

/// The dataset of `as_of.rs` plus a fan-out, a scatter-gather and a shared-identifier ring.
fn dataset(rng: &mut ChaCha8Rng) -> Tables {
    let (mut t, _, _) = base(rng);
    // A fan-out from account 5 and a scatter-gather 11 → {12..=17} → 18, early in the year.
    for (k, d) in (60..67u32).enumerate() {
        t.transfers.push_str(&format!("{},{},{},{}\n", account(5), account(d), 40_000 + 300 * k as i64, instant(20, 600 + k as i64)));
    }
    for m in 12..=17u32 {
        t.transfers.push_str(&format!("{},{},{},{}\n", account(11), account(m), 80_000 + 500 * m as i64, instant(30, 600 + m as i64)));
        t.transfers.push_str(&format!(
            "{},{},{},{}\n",
            account(m),
            account(18),
            78_000 + 500 * m as i64,
            instant(30 + (m as i64 % 5), 900)
        ));
    }
    // Five firms sharing a phone, an address and a device.
    for f in 70..75u32 {
        for (kind, value) in [("phone", "13911112222"), ("address", "Room 9 Hidden Lane"), ("device", "IMEI-861")] {
            t.identifiers.push_str(&format!("{},{kind},{value},,\n", firm(f)));
        }
    }
    t
}

#[test]
fn renaming_and_shuffling_every_table_changes_no_finding() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let t = dataset(&mut rng);
    // A random bijection of the ids onto fresh names.
    let originals: Vec<String> = ids(&t).into_iter().collect();
    let mut names: Vec<usize> = (0..originals.len()).collect();
    names.shuffle(&mut rng);
    let forward: HashMap<String, String> =
        originals.iter().zip(&names).map(|(o, &k)| (o.clone(), format!("{}{:06}", &o[..1], 900_000 - k))).collect();
    let backward: HashMap<String, String> = forward.iter().map(|(a, b)| (b.clone(), a.clone())).collect();
    let moved = t.map(|table| shuffled(&rename(table, &forward), &mut rng));
    let (dir, [out_a, out_b]) = score_pair(&t, &moved, ["2024-12-31", "2024-12-31"]);
    let same = |id: &str| id.to_string();
    let back = |id: &str| backward.get(id).cloned().unwrap_or_else(|| id.to_string());
    let (rings_a, flags_a, cases_a) = findings(&out_a, &same);
    let (rings_b, flags_b, cases_b) = findings(&out_b, &back);
    assert_eq!(cases_a, cases_b, "the rings are merged into the same cases, led by the same kinds");
    let kinds: BTreeSet<&str> = rings_a.iter().map(|r| r.0.as_str()).collect();
    for kind in ["fund_cycle", "fan_out", "scatter_gather", "shared_identifier"] {
        assert!(kinds.contains(kind), "no {kind} ring to compare: {kinds:?}");
    }
    assert_same(&rings_a, &rings_b, "rings");
    assert_same(&flags_a, &flags_b, "flags");
    assert!(!flags_a.is_empty());

    // Shuffled rows without renaming: every ring keeps its id (ids hash the kind and the
    // members' ids, never a row position or an internal number).
    let shuffled_only = t.map(|table| shuffled(table, &mut rng));
    let (c, out_c) = (dir.path().join("c"), dir.path().join("out_c"));
    shuffled_only.write(&c);
    score_as_of(&c, &out_c, "2024-12-31");
    let ring_ids = |out: &Path| -> Vec<Option<String>> {
        let mut ids = read_parquet_column_str(&out.join("rings.parquet"), "ring_id");
        ids.sort();
        ids
    };
    let (ids_a, ids_c) = (ring_ids(&out_a), ring_ids(&out_c));
    assert!(!ids_a.is_empty());
    assert_eq!(ids_a, ids_c, "shuffling the rows renamed rings");
    // Nor does any feature change: a row's position is no input, to the Monte Carlo draws or to
    // the numbering of groups either, so a night whose export lists rows in another order
    // scores every entity the same.
    super::distributed::assert_same_columns(&out_a, &out_c, "rows shuffled");
}

/// Every date and instant of a table moved by `days` (fields that parse as `YYYY-MM-DD` or
/// `YYYY-MM-DDTHH:MM:SSZ`).
fn shifted_in_time(table: &str, days: i64) -> String {
    let shift = chrono::Duration::days(days);
    let field = |f: &str| -> String {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(f, "%Y-%m-%d") {
            (d + shift).format("%Y-%m-%d").to_string()
        } else if let Ok(t) = chrono::NaiveDateTime::parse_from_str(f, "%Y-%m-%dT%H:%M:%SZ") {
            (t + shift).format("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            f.to_string()
        }
    };
    table.lines().map(|l| l.split(',').map(field).collect::<Vec<_>>().join(",") + "\n").collect()
}

#[test]
fn moving_every_time_and_the_as_of_day_by_52_weeks_changes_no_finding() {
    // 364 days keep the weekday and the hour (business-hours and weekend features see the same
    // payments); every window is in days, so no ring or flag may move.
    const DAYS: i64 = 364;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let t = dataset(&mut rng);
    let moved = t.map(|table| shifted_in_time(table, DAYS));
    assert_ne!(moved.transfers, t.transfers, "the near miss: times really moved");
    let (_dir, [out_a, out_b]) = score_pair(&t, &moved, ["2024-12-31", "2025-12-30"]);
    let same = |id: &str| id.to_string();
    let (rings_a, flags_a, cases_a) = findings(&out_a, &same);
    let (rings_b, flags_b, cases_b) = findings(&out_b, &same);
    let back_in_time = |(kind, score, hops): RingKey| -> RingKey {
        (kind, score, hops.into_iter().map(|(s, d, r, ts)| (s, d, r, ts.map(|x| x - DAYS * 86_400_000_000))).collect())
    };
    let rings_b: BTreeSet<RingKey> = rings_b.into_iter().map(back_in_time).collect();
    let cases_b: BTreeSet<(String, Vec<RingKey>)> =
        cases_b.into_iter().map(|(lead, rings)| (lead, rings.into_iter().map(back_in_time).collect())).collect();
    assert!(rings_a.len() > 3, "rings to compare: {}", rings_a.len());
    assert_same(&rings_a, &rings_b, "rings");
    assert_eq!(cases_a, cases_b, "the rings are merged into the same cases, led by the same kinds");
    assert_same(&flags_a, &flags_b, "flags");
    assert!(!flags_a.is_empty());
    // Every feature too: windows and ages count from the as-of day, months included.
    super::distributed::assert_same_columns(&out_a, &out_b, "times moved by 52 weeks");
}
