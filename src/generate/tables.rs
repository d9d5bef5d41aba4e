//! Formatting the plan as contract tables (Parquet) and `truth/` tables.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::builder::{BooleanBuilder, Date32Builder, Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use rand::Rng;
use rayon::prelude::*;

use super::ids::{account_id, firm_id, loan_id, person_id, REGIONS};
use super::{business_time, lognormal, rng_for, Ent, Plan, Transfer, INDUSTRIES, WINDOW_DAYS, WINDOW_START_DAY};
use crate::output::{write_parquet, ParquetSink};

const IDENTIFIER_KINDS: [&str; 7] = ["phone", "email", "address", "device", "ip", "bank_account", "other"];
const ROLES: [&str; 4] = ["legal_rep", "director", "supervisor", "executive"];
const FIRMS_PER_CHUNK: u32 = 20_000;

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn batch(fields: Vec<(&str, DataType, bool)>, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema = Schema::new(fields.into_iter().map(|(n, t, null)| Field::new(n, t, null)).collect::<Vec<_>>());
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// The order in which the `len` rows of one node table are written: a seeded shuffle, so that no
/// reader that numbers rows in file order sees planting order. ekg itself numbers nodes by
/// external id; firm and person ids scramble the planting index, account and loan ids do not,
/// and the metamorphic tests (ids renamed by a random bijection) guard the detectors there.
fn write_order(plan: &Plan, purpose: u64, len: u32) -> Vec<u32> {
    use rand::seq::SliceRandom;
    let mut order: Vec<u32> = (0..len).collect();
    order.shuffle(&mut rng_for(plan.seed, purpose, 0));
    order
}

impl Plan {
    pub fn id(&self, e: Ent) -> String {
        match e {
            Ent::Firm(i) => firm_id(i, self.region[i as usize] as usize),
            Ent::Person(j) => person_id(j),
            Ent::Account(a) => account_id(a),
            Ent::Loan(l) => loan_id(l),
        }
    }
}

/// Writes every table of the plan into `dir` (which must exist), plus `truth/`.
pub fn write_dataset(plan: &Plan, dir: &Path) -> Result<u64> {
    let writers: [fn(&Plan, &Path) -> Result<u64>; 10] = [
        write_firms,
        write_persons,
        write_accounts,
        write_loans,
        write_shareholdings,
        write_officers,
        write_supply_links,
        write_guarantees,
        write_identifiers,
        write_transfers,
    ];
    let mut rows = 0u64;
    for write in writers {
        rows += write(plan, dir)?;
    }
    write_truth(plan, &dir.join("truth"))?;
    Ok(rows)
}

fn write_firms(plan: &Plan, dir: &Path) -> Result<u64> {
    let n = plan.firms;
    let (mut id, mut name, mut industry, mut region) =
        (StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut capital, mut founded, mut status) = (Float64Builder::new(), Date32Builder::new(), StringBuilder::new());
    let (mut defaulted, mut exposure, mut pd) = (BooleanBuilder::new(), Float64Builder::new(), Float64Builder::new());
    let mut defaulted_on = Date32Builder::new();
    let (mut employees, mut revenue, mut assets) = (Float64Builder::new(), Float64Builder::new(), Float64Builder::new());
    for i in write_order(plan, 101, n) {
        let i = i as usize;
        id.append_value(plan.id(Ent::Firm(i as u32)));
        let kind = if plan.is_core[i] { "Group Co., Ltd." } else { "Trading Co., Ltd." };
        name.append_value(format!("{} {} {kind}", REGIONS[plan.region[i] as usize], INDUSTRIES[plan.industry[i] as usize]));
        industry.append_value(INDUSTRIES[plan.industry[i] as usize]);
        region.append_value(REGIONS[plan.region[i] as usize]);
        capital.append_value((plan.capital[i] / 1e3).round() * 1e3);
        founded.append_value(plan.founded[i]);
        status.append_value(if plan.defaulted[i] { "distressed" } else { "active" });
        defaulted.append_value(plan.defaulted[i]);
        if plan.defaulted[i] {
            // A day inside the transfer window, before its last two months.
            let day = WINDOW_START_DAY + rng_for(plan.seed, 105, i as u64).random_range(0..WINDOW_DAYS - 60);
            defaulted_on.append_value(day);
        } else {
            defaulted_on.append_null();
        }
        if plan.exposure[i] > 0.0 {
            exposure.append_value(plan.exposure[i]);
        } else {
            exposure.append_null();
        }
        pd.append_value((plan.pd[i] * 1e4).round() / 1e4);
        // Size indicators from their own stream (the other columns stay as they were); one firm
        // in ten reports none, so the registered-capital fallback is exercised.
        let mut rng = rng_for(plan.seed, 107, i as u64);
        if rng.random_bool(0.1) {
            employees.append_null();
            revenue.append_null();
            assets.append_null();
        } else {
            let (staff, turnover) = if plan.is_core[i] { (2_000.0, 3.0) } else { (15.0, 0.9) };
            employees.append_value(super::lognormal(&mut rng, f64::ln(staff), 0.8).round().max(1.0));
            revenue.append_value((plan.capital[i] * super::lognormal(&mut rng, f64::ln(turnover), 0.7) / 1e3).round() * 1e3);
            assets.append_value((plan.capital[i] * rng.random_range(1.0..3.0) / 1e3).round() * 1e3);
        }
    }
    let b = batch(
        vec![
            ("firm_id", DataType::Utf8, false),
            ("name", DataType::Utf8, true),
            ("industry", DataType::Utf8, true),
            ("region", DataType::Utf8, true),
            ("registered_capital", DataType::Float64, true),
            ("founded", DataType::Date32, true),
            ("status", DataType::Utf8, true),
            ("defaulted", DataType::Boolean, true),
            ("defaulted_on", DataType::Date32, true),
            ("exposure", DataType::Float64, true),
            ("pd", DataType::Float64, true),
            ("employees", DataType::Float64, true),
            ("revenue", DataType::Float64, true),
            ("total_assets", DataType::Float64, true),
        ],
        vec![
            Arc::new(id.finish()),
            Arc::new(name.finish()),
            Arc::new(industry.finish()),
            Arc::new(region.finish()),
            Arc::new(capital.finish()),
            Arc::new(founded.finish()),
            Arc::new(status.finish()),
            Arc::new(defaulted.finish()),
            Arc::new(defaulted_on.finish()),
            Arc::new(exposure.finish()),
            Arc::new(pd.finish()),
            Arc::new(employees.finish()),
            Arc::new(revenue.finish()),
            Arc::new(assets.finish()),
        ],
    )?;
    write_parquet(&dir.join("firms.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_persons(plan: &Plan, dir: &Path) -> Result<u64> {
    const SURNAMES: [&str; 12] = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"];
    let (mut id, mut name) = (StringBuilder::new(), StringBuilder::new());
    for j in write_order(plan, 102, plan.persons) {
        id.append_value(plan.id(Ent::Person(j)));
        name.append_value(format!("{} P{}", SURNAMES[j as usize % SURNAMES.len()], j));
    }
    let b = batch(
        vec![("person_id", DataType::Utf8, false), ("name", DataType::Utf8, true)],
        vec![Arc::new(id.finish()), Arc::new(name.finish())],
    )?;
    write_parquet(&dir.join("persons.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_accounts(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut id, mut owner, mut opened, mut blocked) =
        (StringBuilder::new(), StringBuilder::new(), TimestampMicrosecondBuilder::new().with_timezone("UTC"), BooleanBuilder::new());
    for a in write_order(plan, 103, plan.account_owner.len() as u32) {
        let (o, t) = (plan.account_owner[a as usize], plan.account_opened[a as usize]);
        id.append_value(account_id(a));
        owner.append_value(plan.id(o));
        opened.append_value(t);
        blocked.append_value(false);
    }
    let b = batch(
        vec![
            ("account_id", DataType::Utf8, false),
            ("owner_id", DataType::Utf8, false),
            ("opened", ts_type(), true),
            ("blocked", DataType::Boolean, true),
        ],
        vec![Arc::new(id.finish()), Arc::new(owner.finish()), Arc::new(opened.finish()), Arc::new(blocked.finish())],
    )?;
    write_parquet(&dir.join("accounts.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_loans(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut id, mut borrower, mut amount) = (StringBuilder::new(), StringBuilder::new(), Float64Builder::new());
    let (mut disbursed, mut deposit, mut defaulted) =
        (TimestampMicrosecondBuilder::new().with_timezone("UTC"), StringBuilder::new(), BooleanBuilder::new());
    let mut defaulted_on = Date32Builder::new();
    for l in write_order(plan, 104, plan.loans.len() as u32) {
        let loan = &plan.loans[l as usize];
        id.append_value(loan_id(l));
        borrower.append_value(plan.id(Ent::Firm(loan.borrower)));
        amount.append_value(loan.amount);
        disbursed.append_value(loan.disbursed);
        deposit.append_value(account_id(loan.deposit_account));
        defaulted.append_value(loan.defaulted);
        if loan.defaulted {
            // Some weeks after disbursement, before the window's last two months.
            let disbursed_day = (loan.disbursed / super::MICROS_PER_DAY) as i32;
            let latest = (WINDOW_START_DAY + WINDOW_DAYS - 60).max(disbursed_day + 1);
            let day = rng_for(plan.seed, 106, l as u64).random_range(disbursed_day + 1..=latest).min(latest);
            defaulted_on.append_value(day);
        } else {
            defaulted_on.append_null();
        }
    }
    let b = batch(
        vec![
            ("loan_id", DataType::Utf8, false),
            ("borrower_id", DataType::Utf8, false),
            ("amount", DataType::Float64, false),
            ("disbursed", ts_type(), false),
            ("deposit_account_id", DataType::Utf8, true),
            ("defaulted", DataType::Boolean, true),
            ("defaulted_on", DataType::Date32, true),
        ],
        vec![
            Arc::new(id.finish()),
            Arc::new(borrower.finish()),
            Arc::new(amount.finish()),
            Arc::new(disbursed.finish()),
            Arc::new(deposit.finish()),
            Arc::new(defaulted.finish()),
            Arc::new(defaulted_on.finish()),
        ],
    )?;
    write_parquet(&dir.join("loans.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_shareholdings(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut h, mut f, mut s) = (StringBuilder::new(), StringBuilder::new(), Float64Builder::new());
    for (holder, firm, share) in &plan.shareholdings {
        h.append_value(plan.id(*holder));
        f.append_value(plan.id(Ent::Firm(*firm)));
        s.append_value((share * 1e6).round() / 1e6);
    }
    let b = batch(
        vec![("holder_id", DataType::Utf8, false), ("firm_id", DataType::Utf8, false), ("share", DataType::Float64, false)],
        vec![Arc::new(h.finish()), Arc::new(f.finish()), Arc::new(s.finish())],
    )?;
    write_parquet(&dir.join("shareholdings.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_officers(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut p, mut f, mut r) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    for (person, firm, role) in &plan.officers {
        p.append_value(plan.id(Ent::Person(*person)));
        f.append_value(plan.id(Ent::Firm(*firm)));
        r.append_value(ROLES[*role as usize]);
    }
    let b = batch(
        vec![("person_id", DataType::Utf8, false), ("firm_id", DataType::Utf8, false), ("role", DataType::Utf8, false)],
        vec![Arc::new(p.finish()), Arc::new(f.finish()), Arc::new(r.finish())],
    )?;
    write_parquet(&dir.join("officers.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_supply_links(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut s, mut c, mut v) = (StringBuilder::new(), StringBuilder::new(), Float64Builder::new());
    for (supplier, customer, volume) in &plan.supply {
        s.append_value(plan.id(Ent::Firm(*supplier)));
        c.append_value(plan.id(Ent::Firm(*customer)));
        v.append_value(volume.round());
    }
    let b = batch(
        vec![("supplier_id", DataType::Utf8, false), ("customer_id", DataType::Utf8, false), ("volume", DataType::Float64, true)],
        vec![Arc::new(s.finish()), Arc::new(c.finish()), Arc::new(v.finish())],
    )?;
    write_parquet(&dir.join("supply_links.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_guarantees(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut g, mut b_, mut a, mut start) = (StringBuilder::new(), StringBuilder::new(), Float64Builder::new(), Date32Builder::new());
    for (guarantor, borrower, amount, day) in &plan.guarantees {
        g.append_value(plan.id(*guarantor));
        b_.append_value(plan.id(*borrower));
        a.append_value(amount.round());
        start.append_value(*day);
    }
    let b = batch(
        vec![
            ("guarantor_id", DataType::Utf8, false),
            ("borrower_id", DataType::Utf8, false),
            ("amount", DataType::Float64, true),
            ("start", DataType::Date32, true),
        ],
        vec![Arc::new(g.finish()), Arc::new(b_.finish()), Arc::new(a.finish()), Arc::new(start.finish())],
    )?;
    write_parquet(&dir.join("guarantees.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

fn write_identifiers(plan: &Plan, dir: &Path) -> Result<u64> {
    let (mut e, mut k, mut v) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    for (entity, kind, value) in &plan.identifiers {
        e.append_value(plan.id(*entity));
        k.append_value(IDENTIFIER_KINDS[*kind as usize]);
        v.append_value(value);
    }
    let b = batch(
        vec![("entity_id", DataType::Utf8, false), ("kind", DataType::Utf8, false), ("value", DataType::Utf8, false)],
        vec![Arc::new(e.finish()), Arc::new(k.finish()), Arc::new(v.finish())],
    )?;
    write_parquet(&dir.join("identifiers.parquet"), &b)?;
    Ok(b.num_rows() as u64)
}

/// Ordinary trade per chunk of firms (in parallel, each chunk with its own seeded stream), then
/// the planted flows.
fn write_transfers(plan: &Plan, dir: &Path) -> Result<u64> {
    let n = plan.firms;
    let cores = plan.is_core.iter().filter(|&&c| c).count() as u32;
    let chunks: Vec<u32> = (0..n.div_ceil(FIRMS_PER_CHUNK)).collect();
    // Customers pay suppliers: index supply links by customer.
    let mut suppliers_of: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
    for (s, c, _) in &plan.supply {
        suppliers_of[*c as usize].push(*s);
    }
    let mut sink = ParquetSink::create(&dir.join("transfers.parquet"), transfer_schema())?;
    let mut rows = 0u64;
    // Chunks in groups so that memory stays bounded while both cores work.
    for group in chunks.chunks(8) {
        let batches: Vec<Result<RecordBatch>> = group
            .par_iter()
            .map(|&chunk| {
                let mut rng = rng_for(plan.seed, 7, chunk as u64);
                let mut out = Vec::new();
                let lo = chunk * FIRMS_PER_CHUNK;
                let hi = (lo + FIRMS_PER_CHUNK).min(n);
                for i in lo..hi {
                    let count = (plan.transfers_per_firm * (0.5 + rng.random::<f64>())).round() as u32
                        * if plan.is_core[i as usize] { 4 } else { 1 };
                    let accounts = plan.firm_accounts[i as usize]..plan.firm_accounts[i as usize + 1];
                    for _ in 0..count {
                        let src = rng.random_range(accounts.clone());
                        let suppliers = &suppliers_of[i as usize];
                        let partner = if !suppliers.is_empty() && rng.random_bool(0.7) {
                            suppliers[rng.random_range(0..suppliers.len())]
                        } else if rng.random_bool(0.5) {
                            rng.random_range(0..cores.max(1))
                        } else {
                            rng.random_range(0..n)
                        };
                        let range = plan.firm_accounts[partner as usize]..plan.firm_accounts[partner as usize + 1];
                        let dst = rng.random_range(range);
                        if dst == src {
                            continue;
                        }
                        let day = WINDOW_START_DAY + rng.random_range(0..WINDOW_DAYS);
                        out.push(Transfer {
                            src,
                            dst,
                            amount: (lognormal(&mut rng, 9.5, 1.5) * 100.0).round() / 100.0,
                            ts: business_time(&mut rng, day),
                        });
                    }
                }
                transfer_batch(&out)
            })
            .collect();
        for b in batches {
            let b = b?;
            rows += b.num_rows() as u64;
            sink.write(&b)?;
        }
    }
    let planted = transfer_batch(&plan.planted_transfers)?;
    rows += planted.num_rows() as u64;
    sink.write(&planted)?;
    sink.finish()?;
    Ok(rows)
}

fn transfer_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("src_id", DataType::Utf8, false),
        Field::new("dst_id", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("ts", ts_type(), false),
    ]))
}

fn transfer_batch(transfers: &[Transfer]) -> Result<RecordBatch> {
    let (mut s, mut d, mut a, mut t) =
        (StringBuilder::new(), StringBuilder::new(), Float64Builder::new(), TimestampMicrosecondBuilder::new().with_timezone("UTC"));
    for x in transfers {
        s.append_value(account_id(x.src));
        d.append_value(account_id(x.dst));
        a.append_value(x.amount);
        t.append_value(x.ts);
    }
    Ok(RecordBatch::try_new(
        transfer_schema(),
        vec![Arc::new(s.finish()), Arc::new(d.finish()), Arc::new(a.finish()), Arc::new(t.finish())],
    )?)
}

fn write_truth(plan: &Plan, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let (mut ring, mut kind, mut member) = (UInt64Builder::new(), StringBuilder::new(), StringBuilder::new());
    for (r, planted) in plan.rings.iter().enumerate() {
        for m in &planted.members {
            ring.append_value(r as u64);
            kind.append_value(planted.kind);
            member.append_value(plan.id(*m));
        }
    }
    let b = batch(
        vec![("ring_id", DataType::UInt64, false), ("kind", DataType::Utf8, false), ("member_id", DataType::Utf8, false)],
        vec![Arc::new(ring.finish()), Arc::new(kind.finish()), Arc::new(member.finish())],
    )?;
    write_parquet(&dir.join("rings.parquet"), &b)?;
    let (mut group, mut controller, mut firm, mut level) =
        (UInt64Builder::new(), StringBuilder::new(), StringBuilder::new(), UInt64Builder::new());
    for (g, c, f, l) in &plan.pyramids {
        group.append_value(*g as u64);
        controller.append_value(plan.id(Ent::Person(*c)));
        firm.append_value(plan.id(Ent::Firm(*f)));
        level.append_value(*l as u64);
    }
    let b = batch(
        vec![
            ("group_id", DataType::UInt64, false),
            ("controller_id", DataType::Utf8, false),
            ("firm_id", DataType::Utf8, false),
            ("level", DataType::UInt64, false),
        ],
        vec![Arc::new(group.finish()), Arc::new(controller.finish()), Arc::new(firm.finish()), Arc::new(level.finish())],
    )?;
    write_parquet(&dir.join("pyramids.parquet"), &b)?;
    Ok(())
}
