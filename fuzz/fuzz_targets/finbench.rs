//! Arbitrary bytes as one file of a FinBench snapshot (the first byte picks which); the other
//! files are minimal valid ones.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// The first rows of the public LDBC FinBench example (shared/data/finbench-example).
const FILES: [(&str, &str); 6] = [
    ("Company", "companyId|companyName|isBlocked|createTime\n423|Franecki LLC|false|2020-01-01 12:38:32.171\n"),
    ("Person", "personId|personName|isBlocked|createTime\n755|Bertrand|false|2020-01-01 18:14:47.133\n"),
    ("Account", "accountId|createTime|isBlocked|accoutType\n4613937818241074769|2020-01-09 18:08:45.162|false|foreign currency\n28710447624489049|2020-01-09 18:08:45.162|false|debit\n"),
    ("CompanyOwnAccount", "companyId|accountId|createTime\n423|4613937818241074769|2020-01-10 18:08:45.162\n"),
    ("PersonOwnAccount", "personId|accountId|createTime\n755|28710447624489049|2020-01-10 18:08:45.162\n"),
    ("AccountTransferAccount", "fromId|toId|amount|createTime\n28710447624489049|4613937818241074769|544595.7886430753|2020-06-29 02:33:46.538\n"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let dir = common::scratch("finbench");
    for (i, (name, valid)) in FILES.iter().enumerate() {
        let content: &[u8] = if i == pick as usize % FILES.len() { body } else { valid.as_bytes() };
        if std::fs::write(dir.join(format!("{name}.csv")), content).is_err() {
            return;
        }
    }
    if let Ok(inputs) = ekg_loaders::finbench::finbench_inputs(&dir) {
        let mut report = ekg_loaders::LoadReport::default();
        let _ = ekg_loaders::load::load_inputs(inputs, &ekg_loaders::LoadOptions::default(), &mut report);
    }
});
