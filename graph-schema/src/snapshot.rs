//! The snapshot: the whole graph in one memory-mappable file.
//!
//! Layout (little-endian): magic `EKGSNAP\0`, `format_version: u32`, `section_count: u32`,
//! `table_checksum: u64` (xxh3 of the section table), then `section_count` entries of 64 bytes
//! (`name: [u8; 40]` zero-padded, `offset: u64`, `len: u64`, `checksum: u64`), then the sections,
//! each 64-byte aligned. Loading maps the file, checks every checksum in parallel and every
//! structural invariant (CSR offsets, id ranges), and then borrows the columns from the map: no
//! parse, no copy. Files are written to a temporary name, fsynced and renamed, so a reader never
//! sees a partial snapshot.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::{Mmap, MmapOptions};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::column::Column;
use crate::csr::Csr;
use crate::error::{Error, Result};
use crate::graph::{
    edge_attr_specs, AccountColumns, AttrColumn, AttrType, FirmColumns, Graph, IdentifierStore, LoanColumns, PersonColumns, RelationStore,
};
use crate::kinds::{NodeId, Relation};
use crate::strings::{Dict, IdMap, StrPool};

pub const MAGIC: [u8; 8] = *b"EKGSNAP\0";
/// Bumped whenever the layout or the meaning of a section changes.
pub const FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 24;
const ENTRY_LEN: usize = 64;
const NAME_LEN: usize = 40;
const ALIGN: usize = 64;

/// Every section of a graph, by name, as raw bytes.
pub fn sections(graph: &Graph) -> Vec<(String, &[u8])> {
    let mut out: Vec<(String, &[u8])> = Vec::new();
    fn put<'a, T: Pod>(out: &mut Vec<(String, &'a [u8])>, name: String, values: &'a [T]) {
        out.push((name, bytemuck::cast_slice(values)));
    }
    fn put_pool<'a>(out: &mut Vec<(String, &'a [u8])>, name: &str, pool: &'a StrPool) {
        put(out, format!("{name}.bytes"), &pool.bytes);
        put(out, format!("{name}.ends"), &pool.ends);
        put(out, format!("{name}.bases"), &pool.bases);
    }
    fn put_dict<'a>(out: &mut Vec<(String, &'a [u8])>, name: &str, dict: &'a Dict) {
        put_pool(out, &format!("{name}.values"), &dict.values);
        put(out, format!("{name}.codes"), &dict.codes);
    }
    fn put_csr<'a>(out: &mut Vec<(String, &'a [u8])>, name: &str, csr: &'a Csr) {
        put(out, format!("{name}.start"), std::slice::from_ref(&csr.row_start));
        put(out, format!("{name}.offsets"), &csr.offsets);
        put(out, format!("{name}.targets"), &csr.targets);
    }
    put(&mut out, "meta.kind_starts".into(), &graph.kind_starts[..]);
    put_pool(&mut out, "ids", &graph.ids.pool);
    put(&mut out, "ids.slots".into(), &graph.ids.slots);
    let f = &graph.firms;
    put_pool(&mut out, "firms.name", &f.name);
    put_dict(&mut out, "firms.industry", &f.industry);
    put_dict(&mut out, "firms.region", &f.region);
    put_dict(&mut out, "firms.status", &f.status);
    put(&mut out, "firms.registered_capital".into(), &f.registered_capital);
    put(&mut out, "firms.founded".into(), &f.founded);
    put(&mut out, "firms.defaulted".into(), &f.defaulted);
    put(&mut out, "firms.defaulted_on".into(), &f.defaulted_on);
    put(&mut out, "firms.exposure".into(), &f.exposure);
    put(&mut out, "firms.pd".into(), &f.pd);
    put(&mut out, "firms.employees".into(), &f.employees);
    put(&mut out, "firms.revenue".into(), &f.revenue);
    put(&mut out, "firms.total_assets".into(), &f.total_assets);
    put_pool(&mut out, "persons.name", &graph.persons.name);
    put(&mut out, "accounts.opened".into(), &graph.accounts.opened);
    put(&mut out, "accounts.blocked".into(), &graph.accounts.blocked);
    put(&mut out, "loans.amount".into(), &graph.loans.amount);
    put(&mut out, "loans.disbursed".into(), &graph.loans.disbursed);
    put(&mut out, "loans.defaulted".into(), &graph.loans.defaulted);
    put(&mut out, "loans.defaulted_on".into(), &graph.loans.defaulted_on);
    for relation in Relation::ALL {
        let store = graph.relation(relation);
        let name = format!("rel.{relation}");
        put_csr(&mut out, &format!("{name}.fwd"), &store.forward);
        put_csr(&mut out, &format!("{name}.rev"), &store.reverse);
        put(&mut out, format!("{name}.rev.edge"), &store.reverse_edge);
        for (attr, column) in &store.attrs {
            let key = format!("{name}.attr.{attr}");
            match column {
                AttrColumn::F64(c) => put(&mut out, key, c),
                AttrColumn::I64(c) => put(&mut out, key, c),
                AttrColumn::I32(c) => put(&mut out, key, c),
                AttrColumn::U8(c) => put(&mut out, key, c),
            }
        }
    }
    put_pool(&mut out, "ident.values", &graph.identifiers.values.pool);
    put(&mut out, "ident.values.slots".into(), &graph.identifiers.values.slots);
    put_csr(&mut out, "ident.by_entity", &graph.identifiers.by_entity);
    put_csr(&mut out, "ident.by_value", &graph.identifiers.by_value);
    put(&mut out, "ident.valid_from".into(), &graph.identifiers.valid_from);
    put(&mut out, "ident.valid_to".into(), &graph.identifiers.valid_to);
    out
}

/// A digest of every section, for comparing graphs (round-trip and equivalence tests).
pub fn content_digest(graph: &Graph) -> Vec<(String, u64)> {
    sections(graph).into_par_iter().map(|(name, bytes)| (name, xxh3_64(bytes))).collect()
}

/// Writes `graph` to `path` atomically (temporary file, fsync, rename).
pub fn write_snapshot(graph: &Graph, path: &Path) -> Result<u64> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let parts = sections(graph);
    let checksums: Vec<u64> = parts.par_iter().map(|(_, bytes)| xxh3_64(bytes)).collect();
    let mut table = Vec::with_capacity(parts.len() * ENTRY_LEN);
    let mut offset = align_up(HEADER_LEN + parts.len() * ENTRY_LEN);
    for ((name, bytes), checksum) in parts.iter().zip(&checksums) {
        let mut entry = [0u8; ENTRY_LEN];
        let name_bytes = name.as_bytes();
        if name_bytes.len() > NAME_LEN {
            return Err(Error::Build(format!("snapshot section name too long: {name}")));
        }
        entry[..name_bytes.len()].copy_from_slice(name_bytes);
        entry[40..48].copy_from_slice(&(offset as u64).to_le_bytes());
        entry[48..56].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        entry[56..64].copy_from_slice(&checksum.to_le_bytes());
        table.extend_from_slice(&entry);
        offset = align_up(offset + bytes.len());
    }
    let tmp = temp_path(path);
    let file = File::create(&tmp).map_err(io)?;
    let mut out = BufWriter::with_capacity(1 << 22, file);
    let mut written = 0usize;
    let mut emit = |out: &mut BufWriter<File>, bytes: &[u8]| -> std::io::Result<()> {
        out.write_all(bytes)?;
        written += bytes.len();
        let pad = align_up(written) - written;
        out.write_all(&[0u8; ALIGN][..pad])?;
        written += pad;
        Ok(())
    };
    let mut header = Vec::with_capacity(HEADER_LEN + table.len());
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    header.extend_from_slice(&xxh3_64(&table).to_le_bytes());
    header.extend_from_slice(&table);
    let result = (|| -> std::io::Result<()> {
        emit(&mut out, &header)?;
        for (_, bytes) in &parts {
            emit(&mut out, bytes)?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(source));
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Persist the rename itself; failure to open a directory (some filesystems) is not fatal.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(written as u64)
}

/// The temporary name [`write_snapshot`] writes `path` under before renaming it into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

fn align_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Whether `path` starts with the snapshot magic.
pub fn is_snapshot(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == MAGIC
}

struct Sections {
    map: Arc<Mmap>,
    index: HashMap<String, (usize, usize)>,
    path: PathBuf,
}

impl Sections {
    fn corrupt(&self, problem: impl Into<String>) -> Error {
        Error::CorruptSnapshot { path: self.path.clone(), problem: problem.into() }
    }

    fn get<T: Pod>(&self, name: &str) -> Result<Column<T>> {
        let &(offset, len) = self.index.get(name).ok_or_else(|| self.corrupt(format!("section `{name}` missing")))?;
        let size = std::mem::size_of::<T>();
        if len % size != 0 {
            return Err(self.corrupt(format!("section `{name}` has {len} bytes, not a multiple of {size}")));
        }
        Column::mapped(self.map.clone(), offset, len / size)
            .ok_or_else(|| self.corrupt(format!("section `{name}` out of bounds or misaligned")))
    }

    fn pool(&self, name: &str) -> Result<StrPool> {
        let pool = StrPool::from_parts(
            self.get(&format!("{name}.bytes"))?,
            self.get(&format!("{name}.ends"))?,
            self.get(&format!("{name}.bases"))?,
        );
        if !pool.is_well_formed() {
            return Err(self.corrupt(format!("string pool `{name}` offsets are inconsistent")));
        }
        Ok(pool)
    }

    fn dict(&self, name: &str, rows: usize) -> Result<Dict> {
        let values = self.pool(&format!("{name}.values"))?;
        let codes: Column<u32> = self.get(&format!("{name}.codes"))?;
        if codes.len() != rows || codes.iter().any(|&c| c != Dict::NULL && c as usize >= values.len()) {
            return Err(self.corrupt(format!("dictionary `{name}` codes are inconsistent")));
        }
        Ok(Dict { values, codes })
    }

    fn id_map(&self, name: &str) -> Result<IdMap> {
        let pool = self.pool(name)?;
        let slots: Column<u32> = self.get(&format!("{name}.slots"))?;
        let n = pool.len();
        let ok = slots.len() > n && slots.par_iter().all(|&s| s == u32::MAX || (s as usize) < n);
        if !ok && (n != 0 || !slots.is_empty()) {
            return Err(self.corrupt(format!("id table `{name}` is inconsistent")));
        }
        Ok(IdMap { pool, slots })
    }

    /// A CSR whose rows must lie within `0..max_rows`.
    fn csr(&self, name: &str, max_rows: usize, target_count: usize) -> Result<Csr> {
        let start: Column<u32> = self.column(&format!("{name}.start"), 1)?;
        let csr = Csr::from_parts(start[0], self.get(&format!("{name}.offsets"))?, self.get(&format!("{name}.targets"))?);
        if csr.row_start() as usize + csr.rows() > max_rows || !csr.is_well_formed(target_count) {
            return Err(self.corrupt(format!("adjacency `{name}` is inconsistent")));
        }
        Ok(csr)
    }

    fn column<T: Pod>(&self, name: &str, rows: usize) -> Result<Column<T>> {
        let column: Column<T> = self.get(name)?;
        if column.len() != rows {
            return Err(self.corrupt(format!("column `{name}` has {} rows, expected {rows}", column.len())));
        }
        Ok(column)
    }
}

/// Maps a snapshot and checks it whole: magic, version, bounds, checksums and invariants.
///
/// # Complexity
/// O(file size) for the checksums, parallel; the columns are then borrowed, not copied.
pub fn read_snapshot(path: &Path) -> Result<Graph> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let corrupt = |problem: String| Error::CorruptSnapshot { path: path.to_path_buf(), problem };
    let file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len() as usize;
    if file_len < HEADER_LEN {
        use std::io::Read;
        let mut head = [0u8; 8];
        let is_ours = file_len >= 8 && (&file).read_exact(&mut head).is_ok() && head == MAGIC;
        return Err(if is_ours {
            corrupt(format!("{file_len} bytes: shorter than the header"))
        } else {
            Error::NotSnapshot { path: path.into() }
        });
    }
    // SAFETY: the file is opened read-only and ekg writes snapshots by rename, never in place, so
    // the mapped bytes do not change under us unless another program truncates or rewrites the
    // file, which is outside the contract (as with any mapped file). Every byte is checksummed and
    // every offset bounds-checked before use, so a corrupt file yields an error, not UB.
    let map = unsafe { MmapOptions::new().populate().map(&file) }.map_err(io)?;
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    let map = Arc::new(map);
    if map[..8] != MAGIC {
        return Err(Error::NotSnapshot { path: path.into() });
    }
    let read_u32 = |at: usize| u32::from_le_bytes([map[at], map[at + 1], map[at + 2], map[at + 3]]);
    let read_u64 = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&map[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let version = read_u32(8);
    if version != FORMAT_VERSION {
        return Err(Error::SnapshotVersion { path: path.into(), found: version, expected: FORMAT_VERSION });
    }
    let count = read_u32(12) as usize;
    let table_end = count.checked_mul(ENTRY_LEN).and_then(|t| t.checked_add(HEADER_LEN)).filter(|&e| e <= file_len);
    let table_end = table_end.ok_or_else(|| corrupt(format!("section table of {count} entries runs past the end (truncated?)")))?;
    if xxh3_64(&map[HEADER_LEN..table_end]) != read_u64(16) {
        return Err(corrupt("section table checksum mismatch".into()));
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let at = HEADER_LEN + i * ENTRY_LEN;
        let name_bytes = &map[at..at + NAME_LEN];
        let name_len = name_bytes.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        let name = String::from_utf8_lossy(&name_bytes[..name_len]).into_owned();
        let (offset, len, checksum) = (read_u64(at + 40) as usize, read_u64(at + 48) as usize, read_u64(at + 56));
        if offset.checked_add(len).is_none_or(|end| end > file_len) {
            return Err(corrupt(format!("section `{name}` runs past the end of the file (truncated?)")));
        }
        entries.push((name, offset, len, checksum));
    }
    let expected_len = entries.iter().map(|(_, offset, len, _)| align_up(offset + len)).max().unwrap_or(align_up(table_end));
    if file_len != expected_len {
        return Err(corrupt(format!("{file_len} bytes where the section table implies {expected_len} (truncated or appended to)")));
    }
    // Padding is not covered by checksums; it must be zero so that no byte of the file goes unchecked.
    if entries.iter().any(|(_, offset, len, _)| map[offset + len..align_up(offset + len).min(file_len)].iter().any(|&b| b != 0)) {
        return Err(corrupt("non-zero padding between sections".into()));
    }
    if let Some((name, ..)) = entries.par_iter().find_any(|(_, offset, len, checksum)| xxh3_64(&map[*offset..*offset + *len]) != *checksum)
    {
        return Err(corrupt(format!("section `{name}` checksum mismatch")));
    }
    let index = entries.into_iter().map(|(name, offset, len, _)| (name, (offset, len))).collect();
    let s = Sections { map, index, path: path.to_path_buf() };
    assemble(&s)
}

fn assemble(s: &Sections) -> Result<Graph> {
    let starts_col: Column<u32> = s.column("meta.kind_starts", 5)?;
    let mut kind_starts = [0u32; 5];
    kind_starts.copy_from_slice(&starts_col);
    if kind_starts[0] != 0 || kind_starts.windows(2).any(|w| w[0] > w[1]) {
        return Err(s.corrupt("node kind ranges are inconsistent"));
    }
    let n = kind_starts[4] as usize;
    let count = |k: usize| (kind_starts[k + 1] - kind_starts[k]) as usize;
    let ids = s.id_map("ids")?;
    if ids.len() != n {
        return Err(s.corrupt("id map size differs from the node count"));
    }
    let firms = count(0);
    let firm_columns = FirmColumns {
        name: s.pool("firms.name")?,
        industry: s.dict("firms.industry", firms)?,
        region: s.dict("firms.region", firms)?,
        registered_capital: s.column("firms.registered_capital", firms)?,
        founded: s.column("firms.founded", firms)?,
        status: s.dict("firms.status", firms)?,
        defaulted: s.column("firms.defaulted", firms)?,
        defaulted_on: s.column("firms.defaulted_on", firms)?,
        exposure: s.column("firms.exposure", firms)?,
        pd: s.column("firms.pd", firms)?,
        employees: s.column("firms.employees", firms)?,
        revenue: s.column("firms.revenue", firms)?,
        total_assets: s.column("firms.total_assets", firms)?,
    };
    let persons = PersonColumns { name: s.pool("persons.name")? };
    if firm_columns.name.len() != firms || persons.name.len() != count(1) {
        return Err(s.corrupt("name columns differ from node counts"));
    }
    let accounts = AccountColumns { opened: s.column("accounts.opened", count(2))?, blocked: s.column("accounts.blocked", count(2))? };
    let loans = LoanColumns {
        amount: s.column("loans.amount", count(3))?,
        disbursed: s.column("loans.disbursed", count(3))?,
        defaulted: s.column("loans.defaulted", count(3))?,
        defaulted_on: s.column("loans.defaulted_on", count(3))?,
    };
    let mut relations = Vec::with_capacity(Relation::ALL.len());
    for relation in Relation::ALL {
        let name = format!("rel.{relation}");
        let forward = s.csr(&format!("{name}.fwd"), n, n)?;
        let m = forward.edge_count();
        let reverse = s.csr(&format!("{name}.rev"), n, n)?;
        let reverse_edge: Column<u32> = s.column(&format!("{name}.rev.edge"), m)?;
        if reverse.edge_count() != m || reverse_edge.par_iter().any(|&e| e as usize >= m) {
            return Err(s.corrupt(format!("reverse adjacency of {relation} is inconsistent")));
        }
        let mut attrs = Vec::new();
        for (attr, ty) in edge_attr_specs(relation) {
            let key = format!("{name}.attr.{attr}");
            let column = match ty {
                AttrType::F64 => AttrColumn::F64(s.column(&key, m)?),
                AttrType::I64 => AttrColumn::I64(s.column(&key, m)?),
                AttrType::I32 => AttrColumn::I32(s.column(&key, m)?),
                AttrType::U8 => AttrColumn::U8(s.column(&key, m)?),
            };
            attrs.push((*attr, column));
        }
        relations.push(RelationStore { forward, reverse, reverse_edge, attrs });
    }
    let values = s.id_map("ident.values")?;
    let by_entity = s.csr("ident.by_entity", n, values.len())?;
    let by_value = s.csr("ident.by_value", values.len(), n)?;
    let links = by_entity.edge_count();
    let (valid_from, valid_to) = (s.column("ident.valid_from", links)?, s.column("ident.valid_to", links)?);
    Ok(Graph {
        ids,
        kind_starts,
        firms: firm_columns,
        persons,
        accounts,
        loans,
        relations,
        identifiers: IdentifierStore { values, by_entity, by_value, valid_from, valid_to },
    })
}

/// `NodeId` is plain old data, so CSR targets can live in mapped files.
const _: () = assert!(std::mem::size_of::<NodeId>() == 4);
