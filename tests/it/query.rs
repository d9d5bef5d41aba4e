//! Investigator queries end to end on a snapshot of the sample data and its scores.

use std::path::{Path, PathBuf};

use super::{ekg, read_parquet_column_str, sample, text};

/// A snapshot and a score folder, made once per test in a temporary folder.
fn scored(dir: &Path) -> (PathBuf, PathBuf) {
    let snapshot = dir.join("g.ekg");
    let scores = dir.join("scores");
    let build = ekg(&["build", &sample(), "--out", snapshot.to_str().unwrap_or_default()]);
    assert!(build.status.success(), "{}", text(&build.stderr));
    let score =
        ekg(&["score", snapshot.to_str().unwrap_or_default(), "--out", scores.to_str().unwrap_or_default(), "--as-of", "2025-12-31"]);
    assert!(score.status.success(), "{}", text(&score.stderr));
    (snapshot, scores)
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = ekg(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn show_node_and_ring_explain_a_flagged_ring_member() {
    let dir = tempfile::tempdir().expect("temp");
    let (snapshot, scores) = scored(dir.path());
    let (g, s) = (snapshot.to_str().unwrap_or_default(), scores.to_str().unwrap_or_default());
    let flags = scores.join("flags.parquet");
    let nodes = read_parquet_column_str(&flags, "node_id");
    let kinds = read_parquet_column_str(&flags, "flag");
    let member = nodes
        .iter()
        .zip(&kinds)
        .find(|(_, k)| k.as_deref() == Some("shared_identifier"))
        .and_then(|(n, _)| n.clone())
        .expect("a flagged firm");
    let node = json(&["show", "node", &member, "--graph", g, "--scores", s, "--json"]);
    assert_eq!(node["kind"], "firm");
    assert!(node["flags"].as_array().is_some_and(|f| f.iter().any(|x| x["flag"] == "shared_identifier")));
    let ring_id = node["rings"][0]["ring_id"].as_str().expect("a ring").to_string();
    assert!(node["features"]["ring_count"].as_str().is_some_and(|c| c != "0"));
    assert!(node["ownership"]["ubos"].is_array());
    // The ring: its members include the firm, evidence in time order, and why it scores.
    let ring = json(&["show", "ring", &ring_id, "--graph", g, "--scores", s, "--json"]);
    assert!(ring["members"].as_array().is_some_and(|m| m.iter().any(|x| x["id"] == member.as_str())));
    assert!(ring["evidence"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(ring["why"].as_str().is_some_and(|w| !w.is_empty()));
    // Its case in the review queue lists it among the structure's rings.
    let rings_of_case: Vec<&str> = ring["case"]["rings"].as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect();
    assert!(rings_of_case.contains(&ring_id.as_str()), "{}", ring["case"]);
    assert!(ring["case"]["lead_kind"].is_string() && ring["case"]["explanation"].is_string(), "{}", ring["case"]);
    // Text output names the firm; an unknown id is a data error.
    let text_out = ekg(&["show", "node", &member, "--graph", g]);
    assert!(text(&text_out.stdout).contains("counterparties"));
    let missing = ekg(&["show", "node", "no-such-firm", "--graph", g]);
    assert_eq!(missing.status.code(), Some(65));
}

#[test]
fn path_finds_the_shortest_route_and_neighborhood_exports_every_format() {
    let dir = tempfile::tempdir().expect("temp");
    let (snapshot, scores) = scored(dir.path());
    let (g, s) = (snapshot.to_str().unwrap_or_default(), scores.to_str().unwrap_or_default());
    // Two members of a planted fund cycle are joined by transfers.
    let truth = Path::new(&sample()).join("truth/rings.parquet");
    let kinds = read_parquet_column_str(&truth, "kind");
    let members = read_parquet_column_str(&truth, "member_id");
    let cycle: Vec<String> =
        kinds.iter().zip(&members).filter(|(k, _)| k.as_deref() == Some("fund_cycle")).filter_map(|(_, m)| m.clone()).take(3).collect();
    let found = json(&["path", &cycle[0], &cycle[1], "--graph", g, "--relations", "transfers", "--json"]);
    assert_eq!(found["hops"], 1);
    let hop = &found["paths"][0][0];
    assert_eq!(hop["relation"], "transfers");
    assert!(hop["attributes"]["amount"].is_string() && hop["attributes"]["ts"].is_string());
    // Every hop of every path continues from where the last ended.
    let far = json(&["path", &cycle[0], &cycle[2], "--graph", g, "--json"]);
    for p in far["paths"].as_array().into_iter().flatten() {
        let hops = p.as_array().expect("hops");
        assert_eq!(hops.first().and_then(|h| h["from"].as_str()), Some(cycle[0].as_str()));
        assert_eq!(hops.last().and_then(|h| h["to"].as_str()), Some(cycle[2].as_str()));
        for w in hops.windows(2) {
            assert_eq!(w[0]["to"], w[1]["from"]);
        }
    }
    for format in ["graphml", "gexf", "json", "cytoscape", "dot"] {
        let out = dir.path().join(format!("n.{format}"));
        let result = ekg(&[
            "neighborhood",
            &cycle[0],
            "--graph",
            g,
            "--scores",
            s,
            "--hops",
            "2",
            "--format",
            format,
            "--out",
            out.to_str().unwrap_or_default(),
        ]);
        assert!(result.status.success(), "{format}: {}", text(&result.stderr));
        let body = std::fs::read_to_string(&out).expect("written");
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&body).expect("json");
                assert!(v["nodes"].as_array().is_some_and(|n| n.iter().any(|x| x["id"] == cycle[1].as_str())));
                assert!(v["edges"].as_array().is_some_and(|e| !e.is_empty()));
            }
            "cytoscape" => {
                let v: serde_json::Value = serde_json::from_str(&body).expect("json");
                let nodes = v["elements"]["nodes"].as_array().cloned().unwrap_or_default();
                assert!(nodes.iter().any(|n| n["data"]["id"] == cycle[1].as_str() && n["data"]["value"] == cycle[1].as_str()));
                // Typed: numbers stay numbers for Cytoscape's mappers.
                assert!(nodes
                    .iter()
                    .all(|n| n["data"]["pagerank"].is_number() && n["data"]["defaulted"].is_boolean() || n["data"]["kind"] != "firm"));
            }
            "dot" => assert!(body.contains("digraph neighborhood {") && body.contains("shape=box") && body.trim_end().ends_with('}')),
            other => {
                let root = if other == "gexf" { "gexf" } else { "graphml" };
                assert!(other != "gexf" || body.contains("xmlns=\"http://gexf.net/1.3\" ") && body.contains("version=\"1.3\""));
                assert!(body.contains("type=\"double\""), "{other}: no typed attribute");
                assert!(body.contains(&format!("<{root} ")) && body.trim_end().ends_with(&format!("</{root}>")));
                assert_eq!(body.matches("<node ").count(), body.matches("</node>").count());
                // XML 1.0 allows no control character but tab, newline and carriage return.
                assert!(!body.chars().any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')), "{other}");
            }
        }
    }
}

#[test]
fn prospects_rank_the_supply_chain_without_defaulted_or_flagged_firms() {
    let dir = tempfile::tempdir().expect("temp");
    let (snapshot, scores) = scored(dir.path());
    let (g, s) = (snapshot.to_str().unwrap_or_default(), scores.to_str().unwrap_or_default());
    let out = dir.path().join("prospects.parquet");
    let summary = json(&["prospects", "--graph", g, "--core-top", "2", "--scores", s, "--out", out.to_str().unwrap_or_default(), "--json"]);
    assert!(summary["prospects"].as_u64().unwrap_or(0) > 100, "{summary}");
    let ids = read_parquet_column_str(&out, "node_id");
    let cores: Vec<String> = summary["cores"].as_array().into_iter().flatten().filter_map(|c| c.as_str().map(str::to_string)).collect();
    let score = super::read_parquet_column_f64(&out, "score");
    assert!(score.windows(2).all(|w| w[0] >= w[1]), "ranked by score");
    // No defaulted firm and no firm with a high-severity flag.
    let flags = scores.join("flags.parquet");
    let flagged: std::collections::HashSet<String> = read_parquet_column_str(&flags, "node_id")
        .into_iter()
        .zip(read_parquet_column_str(&flags, "severity"))
        .filter(|(_, sev)| sev.as_deref() == Some("high"))
        .filter_map(|(n, _)| n)
        .collect();
    for id in ids.iter().flatten() {
        assert!(!flagged.contains(id), "{id} has a high flag");
        assert!(!cores.contains(id), "a core is not its own prospect");
    }
    let reasons = read_parquet_column_str(&out, "reason");
    assert!(reasons.iter().all(|r| r.as_ref().is_some_and(|r| r.contains("core"))));
    // Every chain, read against the dataset's own supply links: upstream firms supply the next
    // firm at every step, downstream firms buy from it at every step, cluster chains turn.
    let supplies: std::collections::HashSet<(String, String)> = {
        let links = Path::new(&sample()).join("supply_links.parquet");
        read_parquet_column_str(&links, "supplier_id")
            .into_iter()
            .zip(read_parquet_column_str(&links, "customer_id"))
            .filter_map(|(a, b)| Some((a?, b?)))
            .collect()
    };
    let (positions, chains, hops, core_ids) = (
        read_parquet_column_str(&out, "position"),
        read_parquet_column_str(&out, "chain"),
        super::read_parquet_column_u32(&out, "hops"),
        read_parquet_column_str(&out, "core_id"),
    );
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..ids.len() {
        let chain: Vec<String> =
            chains[i].as_deref().unwrap_or_default().split(" → ").map(|f| f.split(" (").next().unwrap_or_default().to_string()).collect();
        assert_eq!(chain.len() as u32, hops[i] + 1, "{chain:?}");
        assert_eq!((chain.first(), chain.last()), (ids[i].as_ref(), core_ids[i].as_ref()), "{chain:?}");
        let steps: Vec<bool> = chain.windows(2).map(|w| supplies.contains(&(w[0].clone(), w[1].clone()))).collect();
        let bought: Vec<bool> = chain.windows(2).map(|w| supplies.contains(&(w[1].clone(), w[0].clone()))).collect();
        let position = positions[i].as_deref().unwrap_or_default();
        match position {
            "upstream" => assert!(steps.iter().all(|&s| s), "{chain:?} is not a supply chain into the core"),
            "downstream" => assert!(bought.iter().all(|&b| b), "{chain:?} is not a chain of customers"),
            "cluster" => {
                assert!(steps.iter().zip(&bought).all(|(s, b)| *s || *b) && !steps.iter().all(|&s| s) && !bought.iter().all(|&b| b))
            }
            other => panic!("position {other}"),
        }
        let reason = reasons[i].as_deref().unwrap_or_default();
        let says = if reason.starts_with("supplies") {
            "upstream"
        } else if reason.starts_with("buys from") {
            "downstream"
        } else {
            "cluster"
        };
        assert_eq!(says, position, "{reason}");
        *seen.entry(position.to_string()).or_insert(0) += 1;
    }
    assert!(seen.len() == 3, "upstream, downstream and cluster prospects all present: {seen:?}");
    // Only small and micro firms, by the SME standard where the firm reports its figures.
    let (classes, bases) = (read_parquet_column_str(&out, "size_class"), read_parquet_column_str(&out, "size_basis"));
    for (class, basis) in classes.iter().zip(&bases) {
        let basis = basis.as_deref().unwrap_or_default();
        match class.as_deref() {
            Some("micro" | "small") => assert!(basis.starts_with("SME standard"), "{basis}"),
            None => assert!(basis.starts_with("registered capital"), "{basis}"),
            Some(other) => panic!("a {other} firm on the white list ({basis})"),
        }
    }
    assert!(classes.iter().any(|c| c.as_deref() == Some("micro")) && classes.iter().any(|c| c.is_none()));
    // Explicit cores work too; neither option is a usage error.
    let explicit =
        json(&["prospects", "--graph", g, "--core", &cores[0], "--hops", "1", "--out", out.to_str().unwrap_or_default(), "--json"]);
    assert!(explicit["prospects"].as_u64().unwrap_or(0) > 0);
    let none = ekg(&["prospects", "--graph", g, "--out", out.to_str().unwrap_or_default()]);
    assert_eq!(none.status.code(), Some(2));
    // One industrial cluster: only its members, around its core.
    let by_cluster = json(&["prospects", "--graph", g, "--cluster", "1", "--out", out.to_str().unwrap_or_default(), "--json", "--force"]);
    assert!(by_cluster["prospects"].as_u64().unwrap_or(0) > 10, "{by_cluster}");
    let clusters = super::read_parquet_column_u32_opt(&out, "cluster_id");
    assert!(clusters.iter().all(|&c| c == Some(1)), "{clusters:?}");
    assert_eq!(read_parquet_column_str(&out, "core_id").into_iter().collect::<std::collections::BTreeSet<_>>().len(), 1);
    let missing = ekg(&["prospects", "--graph", g, "--cluster", "100000", "--out", out.to_str().unwrap_or_default(), "--force"]);
    assert_eq!(missing.status.code(), Some(65), "{}", text(&missing.stderr));
}

#[test]
fn pseudonymized_snapshots_hold_no_raw_person_ids_or_identifiers_and_keep_rings() {
    let dir = tempfile::tempdir().expect("temp");
    let key = dir.path().join("key");
    std::fs::write(&key, b"a secret key of thirty-two bytes").expect("key");
    let (plain, masked, again) = (dir.path().join("plain.ekg"), dir.path().join("masked.ekg"), dir.path().join("again.ekg"));
    let k = key.to_str().unwrap_or_default();
    for (out, extra) in [(&plain, vec![]), (&masked, vec!["--pseudonymize", k]), (&again, vec!["--pseudonymize", k])] {
        let mut args = vec!["build".to_string(), sample(), "--out".into(), out.to_str().unwrap_or_default().into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = ekg(&refs);
        assert!(result.status.success(), "{}", text(&result.stderr));
    }
    let bytes = std::fs::read(&masked).expect("snapshot");
    assert_eq!(Some(&bytes), std::fs::read(&again).ok().as_ref(), "the same key gives the same pseudonyms");
    let persons = read_parquet_column_str(&Path::new(&sample()).join("persons.parquet"), "person_id");
    let phones: Vec<String> = {
        let ids = Path::new(&sample()).join("identifiers.parquet");
        let kinds = read_parquet_column_str(&ids, "kind");
        read_parquet_column_str(&ids, "value")
            .into_iter()
            .zip(kinds)
            .filter(|(_, k)| k.as_deref() == Some("phone"))
            .filter_map(|(v, _)| v)
            .take(50)
            .collect()
    };
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for raw in persons.iter().flatten().take(50).chain(phones.iter()) {
        assert!(!contains(raw), "raw value {raw} in the pseudonymized snapshot");
    }
    let m = masked.to_str().unwrap_or_default();
    let person = persons[0].clone().unwrap_or_default();
    assert_eq!(ekg(&["show", "node", &person, "--graph", m]).status.code(), Some(65), "raw person id no longer resolves");
    // Firms keep their ids; shared identifiers are still shared: the same rings are found.
    let rings = |g: &Path, out: &Path| {
        json(&[
            "run",
            "rings",
            "--graph",
            g.to_str().unwrap_or_default(),
            "--out",
            out.to_str().unwrap_or_default(),
            "--detectors",
            "shared_identifier",
            "--json",
        ])
    };
    let (a, b) = (rings(&plain, &dir.path().join("ra")), rings(&masked, &dir.path().join("rb")));
    assert_eq!(a["by_kind"], b["by_kind"]);
    assert_eq!(std::fs::read(dir.path().join("ra/rings.parquet")).ok().map(|b| !b.is_empty()), Some(true));
    let short = dir.path().join("short");
    std::fs::write(&short, b"tiny").expect("key");
    let refused = ekg(&[
        "build",
        &sample(),
        "--out",
        dir.path().join("x.ekg").to_str().unwrap_or_default(),
        "--pseudonymize",
        short.to_str().unwrap_or_default(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn export_writes_neo4j_and_kuzu_folders_and_replaces_only_its_own() {
    let dir = tempfile::tempdir().expect("temp");
    for (format, files) in
        [("neo4j", ["Firm.csv", "transfers_Account_Account.csv", "import.sh"]), ("kuzu", ["Firm.parquet", "schema.cypher", "copy.cypher"])]
    {
        let out = dir.path().join(format);
        let out_arg = out.to_str().unwrap_or_default();
        for _ in 0..2 {
            let result = ekg(&["export", &sample(), "--format", format, "--out", out_arg]);
            assert!(result.status.success(), "{format}: {}", text(&result.stderr));
        }
        for file in files {
            assert!(out.join(file).is_file(), "{format}: {file} missing");
        }
    }
    let schema = std::fs::read_to_string(dir.path().join("kuzu/schema.cypher")).expect("schema");
    assert!(
        schema.contains("CREATE NODE TABLE Firm(id STRING PRIMARY KEY")
            && schema.contains("CREATE REL TABLE transfers_Account_Account(FROM Account TO Account")
    );
    let firms = std::fs::read_to_string(dir.path().join("neo4j/Firm.csv")).expect("firms");
    assert!(firms.starts_with("id:ID,name,") && firms.lines().next().is_some_and(|h| h.ends_with(":LABEL") && h.contains("pd:double")));
    // Persons appear by pseudonym, as in every output.
    let persons = std::fs::read_to_string(dir.path().join("neo4j/Person.csv")).expect("persons");
    assert!(persons.lines().skip(1).all(|l| l.starts_with("p:")), "{}", persons.lines().nth(1).unwrap_or_default());
    let foreign = dir.path().join("mine");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    let result = ekg(&["export", &sample(), "--format", "kuzu", "--out", foreign.to_str().unwrap_or_default()]);
    assert_eq!(result.status.code(), Some(73), "{}", text(&result.stderr));
}
