//! Arbitrary bytes as a CSV table: the first byte picks which (firms, shareholdings, transfers,
//! identifiers), the rest is the file; a small valid firms table sits beside edge tables.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const TABLES: [&str; 4] = ["firms", "shareholdings", "transfers", "identifiers"];
const FIRMS: &str = "firm_id,name,registered_capital\nA,Alpha,100\nB,Beta,200\nC,Gamma,\n";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let table = TABLES[pick as usize % TABLES.len()];
    let dir = common::scratch("csv");
    for t in TABLES {
        let _ = std::fs::remove_file(dir.join(format!("{t}.csv")));
    }
    if table != "firms" && std::fs::write(dir.join("firms.csv"), FIRMS).is_err() {
        return;
    }
    if std::fs::write(dir.join(format!("{table}.csv")), body).is_ok() {
        common::load(&dir);
    }
});
