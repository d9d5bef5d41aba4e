//! Arbitrary bytes as the firms table (Parquet): framing checks, metadata, pages, values.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let dir = common::scratch("parquet");
    if std::fs::write(dir.join("firms.parquet"), data).is_ok() {
        common::load(&dir);
    }
});
