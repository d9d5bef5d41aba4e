//! The LDBC Financial Benchmark (FinBench) snapshot layout, mapped onto ekg's contract.
//!
//! | FinBench | ekg |
//! |---|---|
//! | Company (companyId, companyName, isBlocked, createTime) | firms: `c:ID`, name, founded = createTime, status = blocked/active |
//! | Person (personId, personName) | persons: `p:ID`, name |
//! | Account + PersonOwnAccount / CompanyOwnAccount | accounts: `a:ID`, owner, opened = createTime, blocked |
//! | Loan + PersonApplyLoan / CompanyApplyLoan + LoanDepositAccount | loans: `l:ID`, borrower, amount = loanAmount, disbursed = createTime, deposit account = first deposit |
//! | PersonInvestCompany / CompanyInvestCompany (ratio) | shareholdings |
//! | PersonGuaranteePerson / CompanyGuaranteeCompany | guarantees (amount unknown), start = createTime |
//! | AccountTransferAccount, AccountWithdrawAccount | transfers |
//! | LoanDepositAccount, AccountRepayLoan | transfers (loan → account, account → loan) |
//! | Medium + MediumSignInAccount | identifiers: the account's sign-in medium (`phone` for PHONE, else `device`), value `m:ID` |
//!
//! FinBench numbers each entity type separately (a person and a company may share an id), so ids
//! are prefixed with their type. Repeated transfers between the same accounts stay as parallel
//! edges.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use ekg_schema::contract::TableKind;

use crate::error::{Error, Result};
use crate::load::{InputData, TableInput};
use crate::problems::{Problem, Rule};
use crate::source::{read_csv, Chunk, Encoding};
use ekg_schema::pii::mask_personal;

/// A FinBench file read whole as text: header and rows.
struct Table {
    path: PathBuf,
    bytes: u64,
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

impl Table {
    fn read(dir: &Path, name: &str, required: bool) -> Result<Option<Table>> {
        let path = dir.join(format!("{name}.csv"));
        if !path.exists() {
            return if required { Err(Error::Missing { name: name.to_string(), path }) } else { Ok(None) };
        }
        let bytes = std::fs::metadata(&path).map_err(|source| Error::Io { path: path.clone(), source })?.len();
        let (columns, chunks) = read_csv(&path, b'|', Encoding::Utf8)?;
        let mut rows = Vec::new();
        for chunk in chunks {
            let arrays: Vec<_> =
                chunk.batch.columns().iter().map(|c| crate::values::TextColumn::new(&path, "", c)).collect::<Result<_>>()?;
            for i in 0..chunk.batch.num_rows() {
                rows.push(arrays.iter().map(|a| a.get(i).map(str::to_string)).collect());
            }
        }
        Ok(Some(Table { path, bytes, columns, rows }))
    }

    fn col(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::MissingColumn { path: self.path.clone(), column: name.to_string() })
    }

    fn value(&self, row: usize, col: usize) -> Option<&str> {
        self.rows.get(row).and_then(|r| r.get(col)).and_then(|v| v.as_deref())
    }
}

/// Builds contract tables column by column, keeping FinBench's row numbers.
struct Out {
    kind: TableKind,
    path: PathBuf,
    bytes: u64,
    names: Vec<&'static str>,
    builders: Vec<StringBuilder>,
}

impl Out {
    fn new(kind: TableKind, source: &Table, names: &[&'static str]) -> Out {
        Out {
            kind,
            path: source.path.clone(),
            bytes: source.bytes,
            names: names.to_vec(),
            builders: names.iter().map(|_| StringBuilder::new()).collect(),
        }
    }

    fn push(&mut self, values: &[Option<&str>]) {
        for (b, v) in self.builders.iter_mut().zip(values) {
            b.append_option(*v);
        }
    }

    fn finish(mut self) -> Result<TableInput> {
        let schema = Arc::new(Schema::new(self.names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>()));
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        let batch =
            RecordBatch::try_new(schema, arrays).map_err(|e| Error::Internal { path: self.path.clone(), message: e.to_string() })?;
        Ok(TableInput {
            kind: self.kind,
            path: self.path,
            bytes: self.bytes,
            data: InputData::Chunks {
                columns: self.names.iter().map(|s| s.to_string()).collect(),
                chunks: vec![Chunk { first_row: 1, batch }],
            },
        })
    }
}

fn prefixed(prefix: &str, id: Option<&str>) -> Option<String> {
    id.map(|v| format!("{prefix}:{}", v.trim()))
}

fn blocked_status(v: Option<&str>) -> Option<&'static str> {
    v.map(|b| if b.trim().eq_ignore_ascii_case("true") { "blocked" } else { "active" })
}

/// A FinBench snapshot as contract table inputs, with the link rows dropped on the way (kept as
/// warnings: they do not fail a load).
pub struct FinbenchInputs {
    pub inputs: Vec<TableInput>,
    pub warnings: Vec<Problem>,
}

/// Reads a FinBench snapshot folder as contract table inputs.
pub fn finbench_inputs(dir: &Path) -> Result<FinbenchInputs> {
    let mut warnings = Vec::new();
    if !dir.is_dir() {
        return Err(Error::Missing { name: "FinBench dataset".into(), path: dir.to_path_buf() });
    }
    let company =
        Table::read(dir, "Company", true)?.ok_or_else(|| Error::Missing { name: "Company".into(), path: dir.join("Company.csv") })?;
    let mut inputs = Vec::new();

    let (id, name, blocked, created) =
        (company.col("companyId")?, company.col("companyName")?, company.col("isBlocked")?, company.col("createTime")?);
    let mut firms = Out::new(TableKind::Firms, &company, &["firm_id", "name", "founded", "status"]);
    for r in 0..company.rows.len() {
        let fid = prefixed("c", company.value(r, id));
        let founded = company.value(r, created).map(|t| t.get(..10).unwrap_or(t));
        firms.push(&[fid.as_deref(), company.value(r, name), founded, blocked_status(company.value(r, blocked))]);
    }
    inputs.push(firms.finish()?);

    let person_table = Table::read(dir, "Person", false)?;
    if let Some(person) = &person_table {
        let (id, name) = (person.col("personId")?, person.col("personName")?);
        let mut persons = Out::new(TableKind::Persons, person, &["person_id", "name"]);
        for r in 0..person.rows.len() {
            persons.push(&[prefixed("p", person.value(r, id)).as_deref(), person.value(r, name)]);
        }
        inputs.push(persons.finish()?);
    }

    // Owners of accounts, by account id. A link naming a person or company the snapshot does not
    // hold is dropped alone (and reported with its own file and row): the account stays, its
    // owner unknown, and so do its transfers.
    let known = |prefix: &str, table: Option<&Table>, column: &str| -> Result<std::collections::HashSet<String>> {
        let Some(t) = table else { return Ok(Default::default()) };
        let c = t.col(column)?;
        Ok((0..t.rows.len()).filter_map(|r| t.value(r, c)).map(|v| format!("{prefix}:{}", v.trim())).collect())
    };
    let mut entities = known("c", Some(&company), "companyId")?;
    entities.extend(known("p", person_table.as_ref(), "personId")?);
    let mut owner: HashMap<String, String> = HashMap::new();
    for (file, prefix, holder) in [("PersonOwnAccount", "p", "personId"), ("CompanyOwnAccount", "c", "companyId")] {
        if let Some(t) = Table::read(dir, file, false)? {
            let (h, a) = (t.col(holder)?, t.col("accountId")?);
            let path: Arc<str> = Arc::from(t.path.display().to_string());
            for r in 0..t.rows.len() {
                if let (Some(hv), Some(av)) = (t.value(r, h), t.value(r, a)) {
                    let holder_id = format!("{prefix}:{}", hv.trim());
                    if !entities.contains(&holder_id) {
                        warnings.push(Problem {
                            table: "accounts",
                            path: path.clone(),
                            row: r as u64 + 1,
                            column: "owner_id",
                            rule: Rule::DanglingEndpoint,
                            message: format!(
                                "owner '{}' of account 'a:{}' is not in the snapshot; the link is dropped, the account kept with its owner unknown",
                                mask_personal(&holder_id),
                                av.trim()
                            ),
                        });
                        continue;
                    }
                    owner.entry(av.trim().to_string()).or_insert(holder_id);
                }
            }
        }
    }
    if let Some(account) = Table::read(dir, "Account", false)? {
        let (id, created, blocked) = (account.col("accountId")?, account.col("createTime")?, account.col("isBlocked")?);
        let mut accounts = Out::new(TableKind::Accounts, &account, &["account_id", "owner_id", "opened", "blocked"]);
        for r in 0..account.rows.len() {
            let raw = account.value(r, id);
            let own = raw.and_then(|a| owner.get(a.trim())).map(String::as_str);
            accounts.push(&[prefixed("a", raw).as_deref(), own, account.value(r, created), account.value(r, blocked)]);
        }
        inputs.push(accounts.finish()?);
    }

    let mut borrower: HashMap<String, String> = HashMap::new();
    for (file, prefix, holder) in [("PersonApplyLoan", "p", "personId"), ("CompanyApplyLoan", "c", "companyId")] {
        if let Some(t) = Table::read(dir, file, false)? {
            let (h, l) = (t.col(holder)?, t.col("loanId")?);
            for r in 0..t.rows.len() {
                if let (Some(hv), Some(lv)) = (t.value(r, h), t.value(r, l)) {
                    borrower.entry(lv.trim().to_string()).or_insert_with(|| format!("{prefix}:{}", hv.trim()));
                }
            }
        }
    }
    let deposits = Table::read(dir, "LoanDepositAccount", false)?;
    let mut first_deposit: HashMap<String, (String, String)> = HashMap::new();
    if let Some(t) = &deposits {
        let (l, a, c) = (t.col("loanId")?, t.col("accountId")?, t.col("createTime")?);
        for r in 0..t.rows.len() {
            if let (Some(lv), Some(av), Some(cv)) = (t.value(r, l), t.value(r, a), t.value(r, c)) {
                let entry = first_deposit.entry(lv.trim().to_string()).or_insert_with(|| (cv.to_string(), av.trim().to_string()));
                if cv < entry.0.as_str() {
                    *entry = (cv.to_string(), av.trim().to_string());
                }
            }
        }
    }
    if let Some(loan) = Table::read(dir, "Loan", false)? {
        let (id, amount, created) = (loan.col("loanId")?, loan.col("loanAmount")?, loan.col("createTime")?);
        let mut loans = Out::new(TableKind::Loans, &loan, &["loan_id", "borrower_id", "amount", "disbursed", "deposit_account_id"]);
        for r in 0..loan.rows.len() {
            let raw = loan.value(r, id).map(str::trim);
            let b = raw.and_then(|l| borrower.get(l)).map(String::as_str);
            let d = raw.and_then(|l| first_deposit.get(l)).map(|(_, a)| format!("a:{a}"));
            loans.push(&[prefixed("l", raw).as_deref(), b, loan.value(r, amount), loan.value(r, created), d.as_deref()]);
        }
        inputs.push(loans.finish()?);
    }

    for (file, prefix) in [("PersonInvestCompany", "p"), ("CompanyInvestCompany", "c")] {
        if let Some(t) = Table::read(dir, file, false)? {
            let (h, c, ratio) = (t.col("investorId")?, t.col("companyId")?, t.col("ratio")?);
            let mut out = Out::new(TableKind::Shareholdings, &t, &["holder_id", "firm_id", "share"]);
            for r in 0..t.rows.len() {
                out.push(&[prefixed(prefix, t.value(r, h)).as_deref(), prefixed("c", t.value(r, c)).as_deref(), t.value(r, ratio)]);
            }
            inputs.push(out.finish()?);
        }
    }
    for (file, prefix) in [("PersonGuaranteePerson", "p"), ("CompanyGuaranteeCompany", "c")] {
        if let Some(t) = Table::read(dir, file, false)? {
            let (f, to, created) = (t.col("fromId")?, t.col("toId")?, t.col("createTime")?);
            let mut out = Out::new(TableKind::Guarantees, &t, &["guarantor_id", "borrower_id", "start"]);
            for r in 0..t.rows.len() {
                out.push(&[prefixed(prefix, t.value(r, f)).as_deref(), prefixed(prefix, t.value(r, to)).as_deref(), t.value(r, created)]);
            }
            inputs.push(out.finish()?);
        }
    }
    for file in ["AccountTransferAccount", "AccountWithdrawAccount"] {
        if let Some(t) = Table::read(dir, file, false)? {
            let (f, to, amount, created) = (t.col("fromId")?, t.col("toId")?, t.col("amount")?, t.col("createTime")?);
            let mut out = Out::new(TableKind::Transfers, &t, &["src_id", "dst_id", "amount", "ts"]);
            for r in 0..t.rows.len() {
                out.push(&[
                    prefixed("a", t.value(r, f)).as_deref(),
                    prefixed("a", t.value(r, to)).as_deref(),
                    t.value(r, amount),
                    t.value(r, created),
                ]);
            }
            inputs.push(out.finish()?);
        }
    }
    if let Some(t) = &deposits {
        let (l, a, amount, created) = (t.col("loanId")?, t.col("accountId")?, t.col("amount")?, t.col("createTime")?);
        let mut out = Out::new(TableKind::Transfers, t, &["src_id", "dst_id", "amount", "ts"]);
        for r in 0..t.rows.len() {
            out.push(&[
                prefixed("l", t.value(r, l)).as_deref(),
                prefixed("a", t.value(r, a)).as_deref(),
                t.value(r, amount),
                t.value(r, created),
            ]);
        }
        inputs.push(out.finish()?);
    }
    if let Some(t) = Table::read(dir, "AccountRepayLoan", false)? {
        let (a, l, amount, created) = (t.col("accountId")?, t.col("loanId")?, t.col("amount")?, t.col("createTime")?);
        let mut out = Out::new(TableKind::Transfers, &t, &["src_id", "dst_id", "amount", "ts"]);
        for r in 0..t.rows.len() {
            out.push(&[
                prefixed("a", t.value(r, a)).as_deref(),
                prefixed("l", t.value(r, l)).as_deref(),
                t.value(r, amount),
                t.value(r, created),
            ]);
        }
        inputs.push(out.finish()?);
    }
    if let (Some(medium), Some(sign_in)) = (Table::read(dir, "Medium", false)?, Table::read(dir, "MediumSignInAccount", false)?) {
        let (mid, mtype) = (medium.col("mediumId")?, medium.col("mediumType")?);
        let kinds: HashMap<String, &'static str> = (0..medium.rows.len())
            .filter_map(|r| {
                let kind = if medium.value(r, mtype)?.trim().eq_ignore_ascii_case("PHONE") { "phone" } else { "device" };
                Some((medium.value(r, mid)?.trim().to_string(), kind))
            })
            .collect();
        let (m, a) = (sign_in.col("mediumId")?, sign_in.col("accountId")?);
        let mut out = Out::new(TableKind::Identifiers, &sign_in, &["entity_id", "kind", "value"]);
        for r in 0..sign_in.rows.len() {
            let raw = sign_in.value(r, m).map(str::trim);
            let kind = raw.and_then(|v| kinds.get(v)).copied().unwrap_or("device");
            out.push(&[prefixed("a", sign_in.value(r, a)).as_deref(), Some(kind), prefixed("m", raw).as_deref()]);
        }
        inputs.push(out.finish()?);
    }
    Ok(FinbenchInputs { inputs, warnings })
}

/// The files an entity or relation of the snapshot comes from, for `ekg build --estimate`.
const ENTITY_FILES: [(&str, TableKind); 5] = [
    ("Company", TableKind::Firms),
    ("Person", TableKind::Persons),
    ("Account", TableKind::Accounts),
    ("Loan", TableKind::Loans),
    ("MediumSignInAccount", TableKind::Identifiers),
];
const RELATION_FILES: [(&str, TableKind); 8] = [
    ("PersonInvestCompany", TableKind::Shareholdings),
    ("CompanyInvestCompany", TableKind::Shareholdings),
    ("PersonGuaranteePerson", TableKind::Guarantees),
    ("CompanyGuaranteeCompany", TableKind::Guarantees),
    ("AccountTransferAccount", TableKind::Transfers),
    ("AccountWithdrawAccount", TableKind::Transfers),
    ("LoanDepositAccount", TableKind::Transfers),
    ("AccountRepayLoan", TableKind::Transfers),
];

/// Rows per contract table of a FinBench snapshot, counted from its files' lines without parsing.
pub fn row_counts(dir: &Path) -> Result<Vec<(TableKind, u64)>> {
    if !dir.is_dir() {
        return Err(Error::Missing { name: "FinBench dataset".into(), path: dir.to_path_buf() });
    }
    let mut rows: Vec<(TableKind, u64)> = Vec::new();
    for (name, kind) in ENTITY_FILES.iter().chain(&RELATION_FILES) {
        let path = dir.join(format!("{name}.csv"));
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::metadata(&path).map_err(|source| Error::Io { path: path.clone(), source })?.len();
        let file = crate::dataset::TableFile { kind: *kind, path, format: crate::dataset::FileFormat::Csv { delimiter: b'|' }, bytes };
        let count = crate::source::count_rows(&file)?;
        match rows.iter_mut().find(|(k, _)| k == kind) {
            Some(entry) => entry.1 += count,
            None => rows.push((*kind, count)),
        }
    }
    Ok(rows)
}
