//! Arbitrary bytes as a snapshot file: header, section table, checksums, structure.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("snapshot").join("g.ekg");
    if std::fs::write(&path, data).is_ok() {
        if let Ok(graph) = ekg_schema::snapshot::read_snapshot(&path) {
            // A snapshot that passes validation must be safe to walk.
            let _ = graph.footprint();
            for v in 0..graph.node_count().min(1000) {
                let _ = graph.external_id(ekg_schema::NodeId(v as u32));
            }
        }
    }
});
