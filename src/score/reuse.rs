//! The incremental night: a stage whose inputs did not change since the previous night takes its
//! results from that night's outputs instead of computing them again.
//!
//! Each reusable stage hashes everything its result depends on (the entities' ids in order, the
//! arrays of its network, its parameters and seed, this ekg's version and git revision) into a
//! fingerprint that the manifest records under `stage_inputs`. With `--previous`, a stage whose
//! fingerprint equals the previous night's reads its result back from the table it wrote then,
//! bit for bit, so the tables are those a full run writes. Most nights change only transfers;
//! the Monte Carlo cascades and DebtRank, which read none, are then skipped, and so are the
//! stages over the risk network of holdings, posts, guarantees and supply links (risk rank,
//! communities, k-cores and triangles).

use std::path::Path;

use anyhow::Result;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::Array;
use ekg_algorithms::contagion::{CascadeResult, ImpactNetwork};
use ekg_algorithms::Projection;
use ekg_schema::{Graph, NodeId, NodeKind};
use xxhash_rust::xxh3::Xxh3;

use crate::query::read_all;

/// A stage's inputs being hashed.
pub struct Inputs {
    hasher: Xxh3,
    buffer: Vec<u8>,
}

impl Inputs {
    pub fn new(stage: &str) -> Inputs {
        let mut inputs = Inputs { hasher: Xxh3::new(), buffer: Vec::with_capacity(1 << 16) };
        // The build, not only the version: a rebuilt stage may compute something else (a build
        // with uncommitted changes shares its commit's revision).
        inputs.text(env!("CARGO_PKG_VERSION")).text(option_env!("EKG_GIT_REVISION").unwrap_or("unknown"));
        inputs.text(stage);
        inputs
    }

    /// A string, ended by a NUL so that consecutive strings cannot run together.
    pub fn text(&mut self, text: &str) -> &mut Inputs {
        self.hasher.update(text.as_bytes());
        self.hasher.update(&[0]);
        self
    }

    /// Fixed-width values, little-endian, with the count first.
    fn values<T: Copy, const W: usize>(&mut self, values: &[T], bytes: impl Fn(T) -> [u8; W]) -> &mut Inputs {
        self.hasher.update(&(values.len() as u64).to_le_bytes());
        for chunk in values.chunks(8192) {
            self.buffer.clear();
            for &v in chunk {
                self.buffer.extend_from_slice(&bytes(v));
            }
            self.hasher.update(&self.buffer);
        }
        self
    }

    pub fn u32s(&mut self, values: &[u32]) -> &mut Inputs {
        self.values(values, u32::to_le_bytes)
    }

    pub fn u64s(&mut self, values: &[u64]) -> &mut Inputs {
        self.values(values, u64::to_le_bytes)
    }

    pub fn f64s(&mut self, values: &[f64]) -> &mut Inputs {
        self.values(values, |x: f64| x.to_bits().to_le_bytes())
    }

    /// The external ids of every firm, in internal order: a result indexed by firm is only the
    /// same result when the same firms sit at the same places.
    pub fn firm_ids(&mut self, graph: &Graph) -> &mut Inputs {
        for f in graph.kind_range(NodeKind::Firm) {
            self.text(graph.external_id(NodeId(f)));
        }
        self
    }

    pub fn bools(&mut self, values: &[bool]) -> &mut Inputs {
        self.values(values, |b: bool| [u8::from(b)])
    }

    /// A projection of the graph, and the external ids of its nodes: a result indexed by
    /// projection node is only the same result when the same entities sit at the same places
    /// with the same links. It also places the previous night's rows of those nodes: with equal
    /// fingerprints, each node has the internal id it had then (see [`read_node_columns`]).
    pub fn projection(&mut self, graph: &Graph, p: &Projection) -> &mut Inputs {
        self.buffer.clear();
        for &v in &p.nodes {
            self.buffer.extend_from_slice(graph.external_id(v).as_bytes());
            self.buffer.push(0);
            if self.buffer.len() >= 1 << 16 {
                self.hasher.update(&self.buffer);
                self.buffer.clear();
            }
        }
        self.hasher.update(&self.buffer);
        let nodes: Vec<u32> = p.nodes.iter().map(|v| v.0).collect();
        self.u32s(&nodes).u64s(&p.out_offsets).u32s(&p.out_targets);
        match &p.out_weights {
            Some(weights) => self.text("weighted").f64s(weights),
            None => self.text("unweighted"),
        };
        self.text(if p.undirected { "undirected" } else { "directed" })
    }

    pub fn impact_network(&mut self, net: &ImpactNetwork) -> &mut Inputs {
        self.u32s(&[net.firms, net.unbuffered]).u64s(&net.offsets).u32s(&net.targets).f64s(&net.weights);
        let channels: Vec<u32> = net.channels.iter().flat_map(|c| c.map(f32::to_bits)).collect();
        self.u32s(&channels)
    }

    pub fn finish(&self) -> String {
        format!("{:016x}", self.hasher.digest())
    }
}

/// The cascade result `cascade.parquet` in `dir` holds, when its firms are `graph`'s in order;
/// `None` when the table is missing or describes other firms.
pub fn read_cascade(dir: &Path, graph: &Graph, runs: u32) -> Result<Option<CascadeResult>> {
    let path = dir.join("cascade.parquet");
    if !path.is_file() {
        return Ok(None);
    }
    let firms = graph.kind_range(NodeKind::Firm);
    let mut result = CascadeResult {
        probability: Vec::with_capacity(firms.len()),
        low: Vec::with_capacity(firms.len()),
        high: Vec::with_capacity(firms.len()),
        contagion_runs: Vec::with_capacity(firms.len()),
        runs,
        mean_defaults: 0.0,
    };
    let mut next = firms.start;
    for batch in read_all(&path)? {
        let schema = batch.schema();
        let column = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i));
        let (Some(ids), Some(p), Some(low), Some(high), Some(runs)) =
            (column("node_id"), column("cascade_pd"), column("ci_low"), column("ci_high"), column("contagion_runs"))
        else {
            return Ok(None);
        };
        let f64s = |c: &arrow_array::ArrayRef| c.as_primitive_opt::<arrow_array::types::Float64Type>().cloned();
        let (Some(ids), Some(p), Some(low), Some(high), Some(runs)) =
            (ids.as_string_opt::<i32>(), f64s(p), f64s(low), f64s(high), runs.as_primitive_opt::<arrow_array::types::UInt32Type>())
        else {
            return Ok(None);
        };
        for row in 0..batch.num_rows() {
            if next >= firms.end || ids.is_null(row) || ids.value(row) != graph.external_id(NodeId(next)) {
                return Ok(None);
            }
            next += 1;
            result.probability.push(p.value(row));
            result.low.push(low.value(row));
            result.high.push(high.value(row));
            result.contagion_runs.push(runs.value(row));
        }
    }
    if next != firms.end {
        return Ok(None);
    }
    result.mean_defaults = ekg_algorithms::reduce::chunked_sum(&result.probability, |_, x| x);
    Ok(Some(result))
}

/// The firm rows of f64 columns `names` of `features.parquet` in `dir`, when its firms are
/// `graph`'s in order; `None` otherwise.
pub fn read_firm_features(dir: &Path, graph: &Graph, names: &[String]) -> Result<Option<Vec<Vec<f64>>>> {
    let path = dir.join("features.parquet");
    if !path.is_file() {
        return Ok(None);
    }
    let firms = graph.kind_range(NodeKind::Firm);
    let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(firms.len()); names.len()];
    let mut next = firms.start;
    let wanted: Vec<&str> = std::iter::once("node_id").chain(names.iter().map(String::as_str)).collect();
    for batch in crate::query::read_columns(&path, &wanted, firms.end as usize)? {
        let schema = batch.schema();
        let Some(ids) = schema.index_of("node_id").ok().and_then(|i| batch.column(i).as_string_opt::<i32>().cloned()) else {
            return Ok(None);
        };
        let mut values = Vec::with_capacity(names.len());
        for name in names {
            let Some(c) =
                schema.index_of(name).ok().and_then(|i| batch.column(i).as_primitive_opt::<arrow_array::types::Float64Type>().cloned())
            else {
                return Ok(None);
            };
            values.push(c);
        }
        for row in 0..batch.num_rows() {
            if next >= firms.end {
                break;
            }
            if ids.is_null(row) || ids.value(row) != graph.external_id(NodeId(next)) {
                return Ok(None);
            }
            next += 1;
            for (column, c) in columns.iter_mut().zip(&values) {
                column.push(if c.is_null(row) { f64::NAN } else { c.value(row) });
            }
        }
    }
    Ok((next == firms.end).then_some(columns))
}

/// The type a column read back must have.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    F64,
    U32,
}

/// A column of `features.parquet` read back by node.
#[derive(Debug)]
pub enum NodeColumn {
    /// Null is NaN.
    F64(Vec<f64>),
    U32(Vec<Option<u32>>),
}

/// The columns `names` of `features.parquet` in `dir`, at the rows of `nodes`, the nodes of a
/// projection whose fingerprint equals the previous night's ([`Inputs::projection`]): each of
/// them then had the same internal id, which is its row. Each name comes with the type it must
/// have. `None` when the table is missing, has too few rows, or a column is
/// absent or of another type.
pub fn read_node_columns(dir: &Path, nodes: &[NodeId], names: &[(&str, Cells)]) -> Result<Option<Vec<NodeColumn>>> {
    let path = dir.join("features.parquet");
    if !path.is_file() {
        return Ok(None);
    }
    let rows = nodes.iter().map(|v| v.index() + 1).max().unwrap_or(0);
    let batches = crate::query::read_columns(&path, &names.iter().map(|x| x.0).collect::<Vec<_>>(), rows)?;
    if batches.iter().map(|b| b.num_rows()).sum::<usize>() < rows {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(names.len());
    for &(name, cell) in names {
        let Some(arrays) = batches.iter().map(|b| b.column_by_name(name)).collect::<Option<Vec<_>>>() else { return Ok(None) };
        let f64s = || arrays.iter().map(|a| a.as_primitive_opt::<Float64Type>()).collect::<Option<Vec<_>>>();
        let u32s = || arrays.iter().map(|a| a.as_primitive_opt::<UInt32Type>()).collect::<Option<Vec<_>>>();
        let column = if let Some(parts) = f64s().filter(|_| cell == Cells::F64) {
            let all: Vec<f64> = parts.iter().flat_map(|x| x.iter().map(|c| c.unwrap_or(f64::NAN))).collect();
            NodeColumn::F64(nodes.iter().map(|v| all[v.index()]).collect())
        } else if let Some(parts) = u32s().filter(|_| cell == Cells::U32) {
            let all: Vec<Option<u32>> = parts.iter().flat_map(|x| x.iter()).collect();
            NodeColumn::U32(nodes.iter().map(|v| all[v.index()]).collect())
        } else {
            return Ok(None);
        };
        columns.push(column);
    }
    Ok(Some(columns))
}
