//! ekg's nightly stages past one machine, on [timely dataflow](https://github.com/TimelyDataflow/timely-dataflow).
//!
//! `ekg score INPUT --out DIR --processes N` (or `--hosts FILE --process I` on each host of a
//! cluster) runs the stages here on N processes × `--threads` timely workers. Each worker reads
//! its share of the tables' row groups ([`read`]), entities are partitioned by a hash of their id
//! and edges are exchanged to the workers of both endpoints ([`partition`]), and the stages
//! ([`stages`]) run as rounds of all-to-all exchange ([`exchange`]) with sums folded in worker
//! order, so results do not depend on message timing. Worker 0 gathers the feature rows; the
//! caller writes them.
//!
//! Distributed so far: relation degrees, guarantee and supply sums, transfer amounts and windows,
//! transfer counterparties, PageRank of the money flow, the risk network's defaulted shares and
//! personalised PageRank, persons' holdings and posts, and weakly connected component sizes, as
//! of the run's instant. The stages whose graphs stay small (ownership, groups, guarantees,
//! DebtRank, cascades) are not here: the `ekg` binary runs them on process 0 after the gather.

pub mod exchange;
pub mod partition;
pub mod read;
pub mod stages;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ekg_algorithms::centrality::pagerank::PageRankConfig;
use ekg_loaders::{Dataset, Encoding};
use ekg_schema::blocks::{BlockColumn, BlockColumnBuilder};
use ekg_schema::{NodeKind, Relation};
use serde::{Deserialize, Serialize};

use exchange::{per_worker, Channel};
use partition::Partition;
use stages::{Column, HeldColumn, HeldValues, Values};

/// Edge rows a worker reads and sends per round while partitioning: what is held as text at once.
pub const ROUND_ROWS: usize = 1 << 20;

/// Problems shown in an error, of however many found.
pub const MAX_REPORTED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Load(#[from] ekg_loaders::Error),
    #[error("{0}")]
    Input(String),
    #[error("{total} rows break the data contract:\n{}", shown.join("\n"))]
    Rows { total: u64, shown: Vec<String> },
    #[error("cluster: {0}")]
    Cluster(String),
}

/// The processes of a run and this process's place among them.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// `host:port` of every process, process 0 first.
    pub addresses: Vec<String>,
    pub process: usize,
    /// Timely workers per process.
    pub threads: usize,
    /// Set once every process has connected. Timely retries an absent peer for ever, so the
    /// caller watches this flag and gives up after its timeout.
    pub connected: Arc<AtomicBool>,
}

/// What to compute.
#[derive(Clone, Debug)]
pub struct Job {
    pub dataset: Dataset,
    pub encoding: Encoding,
    /// µs since the epoch; `None`: the latest transfer.
    pub as_of: Option<i64>,
    pub pagerank: PageRankConfig,
    /// Edge rows per worker and round while partitioning (normally [`ROUND_ROWS`]).
    pub round_rows: usize,
}

/// The feature table, gathered on process 0: rows by kind, then id.
pub struct Features {
    pub node_id: Vec<String>,
    pub kind: Vec<NodeKind>,
    /// Persons, and accounts without an owner or owned by a person: what the personal-data
    /// policy pseudonymises (`ekg_schema::pii::is_personal_node`).
    pub personal: Vec<bool>,
    pub as_of: i64,
    pub columns: Vec<HeldColumn>,
    /// Per worker: its process, bytes sent to other workers while partitioning the input and
    /// while running the stages, and its process's peak resident memory.
    pub workers: Vec<WorkerReport>,
    /// Edges between existing entities, every relation.
    pub edges: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct WorkerReport {
    pub process: u64,
    pub partition_bytes: u64,
    pub stage_bytes: u64,
    pub peak_rss_bytes: u64,
}

impl exchange::Wire for WorkerReport {}

/// This process's peak resident memory so far (Linux VmHWM), 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

/// Rows of one worker on their way to worker 0, column by column, sorted by kind and id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Block {
    ids: Vec<String>,
    kinds: Vec<u8>,
    personal: Vec<bool>,
    reals: Vec<Vec<f64>>,
    counts: Vec<Vec<u32>>,
}

/// Rows per block: a message's size stays about a megabyte.
const BLOCK_ROWS: usize = 4096;

impl exchange::Wire for Block {
    const MESSAGE_ITEMS: usize = 1;

    fn heap_bytes(&self) -> usize {
        let columns: usize = self.reals.iter().map(|c| 8 * c.len()).chain(self.counts.iter().map(|c| 4 * c.len())).sum();
        self.ids.iter().map(String::len).sum::<usize>() + 2 * self.kinds.len() + columns
    }
}

/// Runs the job as this process of `cluster`; process 0 gets the features, the others `None`.
/// Every process returns the same error when the input breaks the contract.
pub fn run(job: Job, cluster: Cluster) -> Result<Option<Features>, Error> {
    let peers_addresses = cluster.addresses.len();
    if cluster.process >= peers_addresses {
        return Err(Error::Cluster(format!("process {} of {} processes", cluster.process, peers_addresses)));
    }
    let communication = if peers_addresses == 1 {
        timely::CommunicationConfig::Process(cluster.threads.max(1))
    } else {
        timely::CommunicationConfig::Cluster {
            threads: cluster.threads.max(1),
            process: cluster.process,
            addresses: cluster.addresses.clone(),
            report: false,
            zerocopy: false,
        }
    };
    let config = timely::Config { communication, worker: timely::WorkerConfig::default() };
    let job = Arc::new(job);
    let process = cluster.process;
    let result: Arc<Mutex<Option<Features>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&result);
    let guards = timely::execute(config, move |worker| -> Result<(), String> {
        let out = work(worker, &job, process).map_err(|e| e.to_string())?;
        if let Some(features) = out {
            if let Ok(mut s) = slot.lock() {
                *s = Some(features);
            }
        }
        Ok(())
    })
    .map_err(Error::Cluster)?;
    cluster.connected.store(true, Ordering::Release);
    let mut first_error = None;
    for outcome in guards.join() {
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(message),
            Err(panic) => Some(format!("a worker stopped: {panic} (a process of the cluster died or lost its connection)")),
        };
        if let (Some(message), None) = (failure, &first_error) {
            first_error = Some(message);
        }
    }
    if let Some(message) = first_error {
        return Err(Error::Input(message));
    }
    let features = result.lock().map_err(|_| Error::Cluster("a worker panicked while handing over the results".into()))?.take();
    Ok(features)
}

/// One worker's whole job.
fn work(worker: &mut timely::worker::Worker, job: &Job, process: usize) -> Result<Option<Features>, Error> {
    let paths: Vec<String> = ekg_schema::contract::TABLES
        .iter()
        .map(|t| job.dataset.tables.iter().find(|f| f.kind == t.kind).map_or_else(|| t.name.to_string(), |f| f.path.display().to_string()))
        .collect();
    let part = Partition::build(worker, job, &paths)?;
    let partition_bytes = exchange::sent_bytes();
    let owner = stages::account_owners(&part);
    let mut columns = stages::structure(&part);
    columns.extend(stages::transfer_amounts(worker, &part, &owner));
    columns.push(stages::pagerank(worker, &part, &job.pagerank, &owner));
    columns.push(stages::transfer_counterparties(worker, &part, &owner));
    columns.extend(stages::risk(worker, &part, &job.pagerank));
    columns.extend(stages::person_features(worker, &part));
    columns.push(stages::component_size(worker, &part));
    let report =
        WorkerReport { process: process as u64, partition_bytes, stage_bytes: exchange::sent_bytes() - partition_bytes, peak_rss_bytes: 0 };
    gather(worker, part, columns, report)
}

/// Sends every existing entity's row to worker 0, which merges the workers' sorted blocks into
/// one table by kind and id.
fn gather(
    worker: &mut timely::worker::Worker,
    mut part: Partition,
    mut columns: Vec<Column>,
    report: WorkerReport,
) -> Result<Option<Features>, Error> {
    let peers = worker.peers();
    let mut owned_by_firm = vec![false; part.len()];
    for e in part.in_edges.iter().filter(|e| e.relation == Relation::AccountOwner as u8 && e.src_kind != NodeKind::Person as u8) {
        owned_by_firm[e.dst as usize] = true;
    }
    let mut counter: Channel<u64> = Channel::new(worker);
    let edges = counter.all_gather(worker, part.in_edges.len() as u64).into_iter().sum();
    // The edges are done with: their memory goes to the blocks.
    (part.in_edges, part.out_edges) = (Vec::new(), Vec::new());
    // Local indices follow the ids' order: a stable sort by kind gives (kind, id).
    let mut order: Vec<usize> = (0..part.len()).filter(|&v| part.exists[v]).collect();
    order.sort_by_key(|&v| part.kinds[v] as u8);
    // The ids move into the blocks: the partition is not used after.
    let mut ids = std::mem::take(&mut part.ids);
    let mut blocks: Vec<Block> = order
        .chunks(BLOCK_ROWS)
        .map(|rows| Block {
            ids: rows.iter().map(|&v| std::mem::take(&mut ids[v])).collect(),
            kinds: rows.iter().map(|&v| part.kinds[v] as u8).collect(),
            personal: rows
                .iter()
                .map(|&v| match part.kinds[v] {
                    NodeKind::Person => true,
                    NodeKind::Account => !owned_by_firm[v],
                    NodeKind::Firm | NodeKind::Loan => false,
                })
                .collect(),
            reals: Vec::new(),
            counts: Vec::new(),
        })
        .collect();
    // Column by column, each freed once copied: never two copies of the whole table.
    for column in &mut columns {
        match &mut column.values {
            Values::F64(x) => {
                for (block, rows) in blocks.iter_mut().zip(order.chunks(BLOCK_ROWS)) {
                    block.reals.push(rows.iter().map(|&v| x[v]).collect());
                }
                *x = Vec::new();
            }
            Values::U32(x) => {
                for (block, rows) in blocks.iter_mut().zip(order.chunks(BLOCK_ROWS)) {
                    block.counts.push(rows.iter().map(|&v| x[v]).collect());
                }
                *x = Vec::new();
            }
        }
    }
    let mut outgoing: Vec<Vec<Block>> = per_worker(peers);
    outgoing[0] = blocks;
    let mut channel: Channel<Block> = Channel::new(worker);
    let gathered = channel.all_to_all(worker, outgoing);
    let mut reports: Channel<WorkerReport> = Channel::new(worker);
    let workers = reports.all_gather(worker, WorkerReport { peak_rss_bytes: peak_rss_bytes(), ..report });
    if worker.index() != 0 {
        return Ok(None);
    }
    let as_of = part.as_of;
    drop(part);
    let merged = merge(gathered, &columns);
    let (mut reals, mut counts) = (merged.reals.into_iter(), merged.counts.into_iter());
    let columns: Vec<HeldColumn> = columns
        .into_iter()
        .map(|c| {
            let values = match c.values {
                Values::F64(_) => HeldValues::F64(reals.next().unwrap_or_else(|| BlockColumn::new(&[]))),
                Values::U32(_) => HeldValues::U32(counts.next().unwrap_or_else(|| BlockColumn::new(&[]))),
            };
            HeldColumn { name: c.name, description: c.description, values }
        })
        .collect();
    Ok(Some(Features {
        kind: merged.kinds.iter().map(|&k| NodeKind::ALL[k as usize & 3]).collect(),
        personal: merged.personal,
        node_id: merged.ids,
        as_of,
        columns,
        workers,
        edges,
    }))
}

/// The workers' blocks, each worker's sorted by (kind, id), merged into one sorted block; each
/// block is dropped once taken.
fn merge(by_sender: Vec<Vec<Block>>, columns: &[Column]) -> Merged {
    let rows: usize = by_sender.iter().flatten().map(|b| b.ids.len()).sum();
    let real_columns = columns.iter().filter(|c| matches!(c.values, Values::F64(_))).count();
    let mut ids = Vec::with_capacity(rows);
    let mut kinds = Vec::with_capacity(rows);
    let mut personal = Vec::with_capacity(rows);
    let mut reals: Vec<BlockColumnBuilder<f64>> = (0..real_columns).map(|_| BlockColumnBuilder::default()).collect();
    let mut counts: Vec<BlockColumnBuilder<u32>> = (0..columns.len() - real_columns).map(|_| BlockColumnBuilder::default()).collect();
    let mut queues: Vec<std::collections::VecDeque<Block>> = by_sender.into_iter().map(Into::into).collect();
    let mut at = vec![0usize; queues.len()];
    loop {
        let mut best: Option<usize> = None;
        for (w, q) in queues.iter().enumerate() {
            let Some(b) = q.front() else { continue };
            let row = (b.kinds[at[w]], &b.ids[at[w]]);
            if best.is_none_or(|x| {
                let c = &queues[x][0];
                row < (c.kinds[at[x]], &c.ids[at[x]])
            }) {
                best = Some(w);
            }
        }
        let Some(w) = best else { break };
        let (i, b) = (at[w], &mut queues[w][0]);
        ids.push(std::mem::take(&mut b.ids[i]));
        kinds.push(b.kinds[i]);
        personal.push(b.personal[i]);
        for (o, c) in reals.iter_mut().zip(&b.reals) {
            o.push(c[i]);
        }
        for (o, c) in counts.iter_mut().zip(&b.counts) {
            o.push(c[i]);
        }
        at[w] += 1;
        if at[w] == b.ids.len() {
            queues[w].pop_front();
            at[w] = 0;
        }
    }
    Merged {
        ids,
        kinds,
        personal,
        reals: reals.into_iter().map(BlockColumnBuilder::finish).collect(),
        counts: counts.into_iter().map(BlockColumnBuilder::finish).collect(),
    }
}

/// The merged rows, each column in blocks (never held whole).
struct Merged {
    ids: Vec<String>,
    kinds: Vec<u8>,
    personal: Vec<bool>,
    reals: Vec<BlockColumn<f64>>,
    counts: Vec<BlockColumn<u32>>,
}

/// Free `127.0.0.1` ports for a local cluster of `processes`.
pub fn local_addresses(processes: usize) -> std::io::Result<Vec<String>> {
    let listeners: Vec<std::net::TcpListener> =
        (0..processes).map(|_| std::net::TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.to_string())).collect()
}

/// A host file: one `host:port` per line, process 0 first; blank lines and `#` comments skipped.
pub fn read_hosts(path: &std::path::Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Cluster(format!("{}: {e}", path.display())))?;
    let hosts: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect();
    if hosts.is_empty() {
        return Err(Error::Cluster(format!("{}: no hosts", path.display())));
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker's blocks: rows `(kind, id, value)` sorted, cut every `per_block` rows.
    fn blocks(rows: &[(u8, &str, f64)], per_block: usize) -> Vec<Block> {
        rows.chunks(per_block)
            .map(|c| Block {
                ids: c.iter().map(|r| r.1.to_string()).collect(),
                kinds: c.iter().map(|r| r.0).collect(),
                personal: c.iter().map(|r| r.0 == 1).collect(),
                reals: vec![c.iter().map(|r| r.2).collect()],
                counts: vec![c.iter().map(|r| r.2 as u32).collect()],
            })
            .collect()
    }

    #[test]
    fn merging_sorted_blocks_orders_rows_by_kind_then_id_and_keeps_each_rows_values() {
        let columns = vec![
            Column { name: "x".into(), description: String::new(), values: Values::F64(Vec::new()) },
            Column { name: "n".into(), description: String::new(), values: Values::U32(Vec::new()) },
        ];
        // Worker 1 holds the smallest id of kind 0 and an empty share on worker 2; ids of
        // different kinds interleave ("b" is a person, "a" a firm).
        let by_sender = vec![
            blocks(&[(0, "c", 3.0), (0, "e", 5.0), (1, "b", 12.0)], 2),
            blocks(&[(0, "a", 1.0), (0, "d", 4.0), (1, "a", 11.0), (1, "z", 16.0)], 1),
            Vec::new(),
        ];
        let merged = merge(by_sender, &columns);
        let rows: Vec<(u8, &str, f64, u32, bool)> = (0..merged.ids.len())
            .map(|i| (merged.kinds[i], merged.ids[i].as_str(), merged.reals[0].get(i), merged.counts[0].get(i), merged.personal[i]))
            .collect();
        assert_eq!(
            rows,
            vec![
                (0, "a", 1.0, 1, false),
                (0, "c", 3.0, 3, false),
                (0, "d", 4.0, 4, false),
                (0, "e", 5.0, 5, false),
                (1, "a", 11.0, 11, true),
                (1, "b", 12.0, 12, true),
                (1, "z", 16.0, 16, true),
            ]
        );
    }
}
