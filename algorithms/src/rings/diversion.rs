//! Loan-fund diversion (post-loan monitoring): from each loan's disbursement into its deposit
//! account, trace the money along time-ascending transfers for up to `hops` hops within `window`,
//! and flag loans whose funds reach the borrower's related parties — its officers, its direct
//! holders, entities sharing an identifier with it, and their accounts — or repay other loans.
//!
//! Tracing is first-in first-out: an account passes on what it received through its next
//! transfers in time order, each carrying at most its own amount, so no money is counted twice.
//! A loan is a ring when the traced share (diverted + repaid, over the loan amount) reaches
//! `min_share`. Score: that share × speed (1 − the time from disbursement to the last traced
//! arrival / window), since funds leaving for related parties within days of the disbursement is
//! the post-loan monitoring red flag, and a payment weeks later is more often ordinary business.
//!
//! # Complexity
//! Parallel over loans; each trace is bounded by the out-lists within the window, `hops` deep.

use ekg_schema::{Graph, NodeId, NodeKind, Relation, TS_NULL};
use rayon::prelude::*;

use super::{Evidence, EvidenceKind, Ring, RingKind, Transfers};
use crate::hash::FastSet;
use crate::ownership::NONE;

#[derive(Clone, Debug)]
pub struct DiversionConfig {
    pub hops: usize,
    /// µs.
    pub window: i64,
    pub min_share: f64,
    /// Identifiers shared by more entities than this do not make parties related.
    pub max_share: usize,
}

impl Default for DiversionConfig {
    fn default() -> Self {
        DiversionConfig { hops: 3, window: 30 * super::cycles::MICROS_PER_DAY, min_share: 0.3, max_share: super::shared::DEFAULT_MAX_SHARE }
    }
}

/// The accounts of the borrower's related parties (not the borrower's own).
fn related_accounts(graph: &Graph, borrower: u32, max_share: usize) -> FastSet<u32> {
    let mut parties: Vec<u32> = Vec::new();
    for relation in [Relation::Officer, Relation::Shareholding] {
        parties.extend(graph.relation(relation).reverse.neighbor_ids(NodeId(borrower)));
    }
    let ids = &graph.identifiers;
    for &value in ids.by_entity.neighbor_ids(NodeId(borrower)) {
        let holders = ids.by_value.neighbor_ids(NodeId(value));
        if holders.len() <= max_share {
            parties.extend(holders.iter().copied().filter(|&h| h != borrower));
        }
    }
    let owners = graph.relation(Relation::AccountOwner);
    let accounts = graph.kind_range(NodeKind::Account);
    let mut out = FastSet::default();
    for p in parties {
        if accounts.contains(&p) {
            out.insert(p);
        } else if p != borrower {
            out.extend(owners.forward.neighbor_ids(NodeId(p)).iter().copied());
        }
    }
    out
}

pub fn loan_diversion(graph: &Graph, t: &Transfers, config: &DiversionConfig) -> Vec<Ring> {
    let loans = graph.kind_range(NodeKind::Loan);
    let borrowers = graph.relation(Relation::LoanBorrower);
    let deposits = graph.relation(Relation::LoanDeposit);
    let loan_nodes = loans.clone();
    let found: Vec<Option<Ring>> = loans
        .clone()
        .into_par_iter()
        .map(|loan| {
            let i = (loan - loan_nodes.start) as usize;
            let amount = graph.loans.amount.get(i).copied().unwrap_or(f64::NAN);
            let start = graph.loans.disbursed.get(i).copied().unwrap_or(TS_NULL);
            let borrower = borrowers.reverse.neighbor_ids(NodeId(loan)).first().copied()?;
            let deposit = deposits.forward.neighbor_ids(NodeId(loan)).first().copied()?;
            if amount.is_nan() || amount <= 0.0 || start == TS_NULL {
                return None;
            }
            let related = related_accounts(graph, borrower, config.max_share);
            let end = start + config.window;
            let mut traced = 0.0;
            let mut last_arrival = start;
            let mut evidence: Vec<Evidence> = Vec::new();
            let mut members = vec![loan, deposit];
            // (account, carried, arrival, hop, path of edges)
            let mut frontier: Vec<(u32, f64, i64, usize, Vec<usize>)> = vec![(deposit, amount, start, 0, Vec::new())];
            while let Some((x, carried, arrival, hop, path)) = frontier.pop() {
                let mut remaining = carried;
                for e in t.out_edges(x) {
                    let ts = t.ts(e);
                    if ts < arrival {
                        continue;
                    }
                    if ts > end || remaining <= 0.0 {
                        break;
                    }
                    let take = t.amount(e).min(remaining);
                    remaining -= take;
                    let y = t.dst(e);
                    let repays = loan_nodes.contains(&y) && y != loan;
                    if related.contains(&y) || repays {
                        traced += take;
                        last_arrival = last_arrival.max(ts);
                        evidence.extend(path.iter().chain([&e]).map(|&p| Evidence::transfer(t, p)));
                        members.extend(path.iter().map(|&p| t.dst(p)));
                        members.push(y);
                    } else if hop + 1 < config.hops {
                        let mut next = path.clone();
                        next.push(e);
                        frontier.push((y, take, ts, hop + 1, next));
                    }
                }
            }
            let share = traced / amount;
            if share < config.min_share {
                return None;
            }
            evidence.push(Evidence { src: loan, dst: deposit, kind: EvidenceKind::Disbursement, amount, ts: start, identifier: NONE });
            let speed = (1.0 - (last_arrival - start) as f64 / config.window as f64).clamp(0.0, 1.0);
            Some(Ring::new(RingKind::LoanDiversion, share.min(1.0) * speed, members, evidence, traced))
        })
        .collect();
    found.into_iter().flatten().collect()
}
