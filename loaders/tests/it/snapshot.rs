//! Round trip through the snapshot, and refusal of every kind of damaged snapshot.

use std::path::PathBuf;

use ekg_loaders::{load_dataset, Dataset, LoadOptions};
use ekg_schema::snapshot::{content_digest, read_snapshot, write_snapshot, FORMAT_VERSION};
use ekg_schema::{Error, Graph, NodeKind, Relation};

fn sample_graph() -> Graph {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample-data");
    let dataset = Dataset::discover(&dir).expect("sample-data is committed");
    load_dataset(&dataset, &LoadOptions::default()).expect("sample-data is valid").0
}

#[test]
fn sample_data_round_trips_through_a_snapshot_unchanged() {
    let graph = sample_graph();
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("g.ekg");
    write_snapshot(&graph, &path).expect("write");
    let mapped = read_snapshot(&path).expect("read");
    assert_eq!(content_digest(&graph), content_digest(&mapped));
    assert!(mapped.relation(Relation::Transfer).forward.targets().len() > 100_000);
    // Lookups and attributes work on the mapped graph.
    for node in (0..graph.node_count() as u32).step_by(997).map(ekg_schema::NodeId) {
        let id = mapped.external_id(node);
        assert_eq!(mapped.lookup(id), Some(node));
        assert_eq!(graph.kind(node), mapped.kind(node));
    }
    assert_eq!(graph.kind_count(NodeKind::Firm), 10_000);
    // Rebuilding from the same input gives the same bytes (deterministic build).
    let again = sample_graph();
    assert_eq!(content_digest(&graph), content_digest(&again));
}

#[test]
fn damaged_snapshots_are_refused_never_misread() {
    let graph = sample_graph();
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("g.ekg");
    write_snapshot(&graph, &path).expect("write");
    let good = std::fs::read(&path).expect("read");
    let bad_path = dir.path().join("bad.ekg");
    let len = good.len();
    for cut in [0, 4, 12, 23, 100, 4_000, len / 3, len / 2, len - 1] {
        std::fs::write(&bad_path, &good[..cut]).expect("write");
        let err = read_snapshot(&bad_path).err().unwrap_or_else(|| panic!("truncated at {cut} read"));
        assert!(err.to_string().contains("bad.ekg"), "{err}");
    }
    for at in [30, 200, 5_000, len / 4, len / 2, len - 3] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&bad_path, &bad).expect("write");
        let err = read_snapshot(&bad_path).err().unwrap_or_else(|| panic!("bit flip at {at} read"));
        assert!(matches!(err, Error::CorruptSnapshot { .. }), "{err}");
    }
    let mut old = good.clone();
    old[8..12].copy_from_slice(&(FORMAT_VERSION - 1).to_le_bytes());
    std::fs::write(&bad_path, &old).expect("write");
    let err = read_snapshot(&bad_path).expect_err("old version");
    assert!(err.to_string().contains("rebuild it with `ekg build`"), "{err}");
    std::fs::write(&bad_path, b"firm_id,name\nF1,x\n").expect("write");
    assert!(matches!(read_snapshot(&bad_path), Err(Error::NotSnapshot { .. })));
}
