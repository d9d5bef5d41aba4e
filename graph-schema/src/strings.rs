//! String storage without a `String` per value: a byte pool with end offsets, a dictionary for
//! low-cardinality text columns, and the external-id interner.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::column::Column;
use crate::kinds::NodeId;
use crate::memory::huge_page_vec_filled;

/// Strings per segment; a segment's bytes stay below 2^32 because strings are shorter than
/// [`MAX_STRING_BYTES`], so ends fit `u32` while the pool itself may exceed 4 GiB.
const SEGMENT_BITS: u32 = 16;
/// Longest string a pool stores; longer input is cut at a char boundary (loaders reject it first).
pub const MAX_STRING_BYTES: usize = (1 << 16) - 1;

/// Many strings in one byte buffer: string `i` spans `bases[i >> 16] + ends[i - 1]` (or the
/// segment base for the first of a segment) to `bases[i >> 16] + ends[i]`.
#[derive(Debug, Default)]
pub struct StrPool {
    pub(crate) bytes: Column<u8>,
    pub(crate) ends: Column<u32>,
    pub(crate) bases: Column<u64>,
}

impl StrPool {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    #[inline]
    pub fn get_bytes(&self, index: usize) -> &[u8] {
        let Some(&end) = self.ends.get(index) else { return &[] };
        let base = self.bases.get(index >> SEGMENT_BITS).copied().unwrap_or(0) as usize;
        let start = if index & ((1 << SEGMENT_BITS) - 1) == 0 { 0 } else { self.ends[index - 1] };
        self.bytes.get(base + start as usize..base + end as usize).unwrap_or(&[])
    }

    /// The string at `index`. Pools are built from validated UTF-8 and snapshots are checksummed;
    /// should a crafted file still hold invalid bytes, this yields U+FFFD rather than panicking.
    #[inline]
    pub fn get(&self, index: usize) -> &str {
        std::str::from_utf8(self.get_bytes(index)).unwrap_or("\u{FFFD}")
    }

    pub fn byte_len(&self) -> usize {
        self.bytes.byte_len() + self.ends.byte_len() + self.bases.byte_len()
    }

    /// Moves a pool held in memory to an unnamed file in `dir`, read through a map of it (see
    /// [`crate::column::spill_parts`]); nothing for a pool mapped already (a snapshot's).
    pub fn spill(&mut self, dir: &std::path::Path) -> std::io::Result<()> {
        if self.bytes.is_mapped() && self.ends.is_mapped() && self.bases.is_mapped() {
            return Ok(());
        }
        let parts = [&self.bytes[..], bytemuck::cast_slice(&self.ends[..]), bytemuck::cast_slice(&self.bases[..])];
        let Some((map, at)) = crate::column::spill_parts(dir, &parts)? else { return Ok(()) };
        let misplaced = || std::io::Error::other("spilled strings: the map is shorter than what was written");
        let bytes = Column::mapped(map.clone(), at[0], self.bytes.len()).ok_or_else(misplaced)?;
        let ends = Column::mapped(map.clone(), at[1], self.ends.len()).ok_or_else(misplaced)?;
        let bases = Column::mapped(map, at[2], self.bases.len()).ok_or_else(misplaced)?;
        *self = StrPool { bytes, ends, bases };
        Ok(())
    }

    pub(crate) fn from_parts(bytes: Column<u8>, ends: Column<u32>, bases: Column<u64>) -> Self {
        StrPool { bytes, ends, bases }
    }

    /// A pool of as many strings whose string `i` is what `rewrite(i, old, out)` appends to `out`
    /// (the old string itself to keep it). Built a segment at a time in parallel, so `rewrite`
    /// must not depend on the order of its calls.
    pub fn rewritten(&self, rewrite: impl Fn(usize, &str, &mut String) + Sync) -> StrPool {
        let segments: Vec<(Vec<u8>, Vec<u32>)> = (0..self.len().div_ceil(1 << SEGMENT_BITS))
            .into_par_iter()
            .map(|segment| {
                let first = segment << SEGMENT_BITS;
                let mut text = String::new();
                let ends = (first..(first + (1 << SEGMENT_BITS)).min(self.len()))
                    .map(|i| {
                        let start = text.len();
                        rewrite(i, self.get(i), &mut text);
                        if text.len() - start > MAX_STRING_BYTES {
                            let mut cut = start + MAX_STRING_BYTES;
                            while !text.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            text.truncate(cut);
                        }
                        text.len() as u32
                    })
                    .collect();
                (text.into_bytes(), ends)
            })
            .collect();
        StrPoolBuilder::from_segments(segments).finish()
    }

    /// Checks that ends are non-decreasing within each segment and every string lies in `bytes`.
    pub(crate) fn is_well_formed(&self) -> bool {
        let segments = self.ends.len().div_ceil(1 << SEGMENT_BITS);
        if self.bases.len() != segments {
            return false;
        }
        self.ends.chunks(1 << SEGMENT_BITS).zip(self.bases.iter()).all(|(ends, &base)| {
            ends.windows(2).all(|w| w[0] <= w[1]) && ends.last().is_none_or(|&e| base as usize + e as usize <= self.bytes.len())
        })
    }
}

/// Appends strings to a pool under construction.
#[derive(Debug, Default)]
pub struct StrPoolBuilder {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    bases: Vec<u64>,
}

impl StrPoolBuilder {
    pub fn with_capacity(strings: usize, bytes: usize) -> Self {
        StrPoolBuilder { bytes: Vec::with_capacity(bytes), ends: Vec::with_capacity(strings), bases: Vec::new() }
    }

    pub fn push(&mut self, value: &str) -> usize {
        let mut cut = value.len().min(MAX_STRING_BYTES);
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        let index = self.ends.len();
        if index & ((1 << SEGMENT_BITS) - 1) == 0 {
            self.bases.push(self.bytes.len() as u64);
        }
        self.bytes.extend_from_slice(&value.as_bytes()[..cut]);
        let base = self.bases[index >> SEGMENT_BITS] as usize;
        self.ends.push((self.bytes.len() - base) as u32);
        index
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `index` (empty when out of range).
    pub fn get_str(&self, index: usize) -> &str {
        std::str::from_utf8(self.get(index)).unwrap_or("\u{FFFD}")
    }

    fn get(&self, index: usize) -> &[u8] {
        let Some(&end) = self.ends.get(index) else { return &[] };
        let base = self.bases[index >> SEGMENT_BITS] as usize;
        let start = if index & ((1 << SEGMENT_BITS) - 1) == 0 { 0 } else { self.ends[index - 1] };
        &self.bytes[base + start as usize..base + end as usize]
    }

    pub fn finish(self) -> StrPool {
        StrPool { bytes: self.bytes.into(), ends: self.ends.into(), bases: self.bases.into() }
    }

    /// The pool with string `order[i]` at index `i` (`order`: indices of this pool). Built a
    /// segment at a time in parallel: a segment's ends count from its own first byte.
    pub fn permuted(&self, order: &[u32]) -> StrPoolBuilder {
        let segments: Vec<(Vec<u8>, Vec<u32>)> = order
            .par_chunks(1 << SEGMENT_BITS)
            .map(|part| {
                let mut bytes = Vec::new();
                let ends = part
                    .iter()
                    .map(|&old| {
                        bytes.extend_from_slice(self.get(old as usize));
                        bytes.len() as u32
                    })
                    .collect();
                (bytes, ends)
            })
            .collect();
        StrPoolBuilder::from_segments(segments)
    }

    /// Joins whole segments (each's bytes, and ends counted from its own first byte).
    fn from_segments(segments: Vec<(Vec<u8>, Vec<u32>)>) -> StrPoolBuilder {
        let strings = segments.iter().map(|s| s.1.len()).sum();
        let mut pool = StrPoolBuilder::with_capacity(strings, segments.iter().map(|s| s.0.len()).sum());
        for (bytes, ends) in segments {
            pool.bases.push(pool.bytes.len() as u64);
            pool.bytes.extend_from_slice(&bytes);
            pool.ends.extend_from_slice(&ends);
        }
        pool
    }
}

/// A dictionary-encoded text column (industry, region, status): `codes[i]` indexes `values`,
/// `Dict::NULL` marks a missing value.
#[derive(Debug, Default)]
pub struct Dict {
    pub(crate) values: StrPool,
    pub(crate) codes: Column<u32>,
}

impl Dict {
    pub const NULL: u32 = u32::MAX;

    pub fn get(&self, row: usize) -> Option<&str> {
        let code = *self.codes.get(row)?;
        (code != Self::NULL && (code as usize) < self.values.len()).then(|| self.values.get(code as usize))
    }

    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    pub fn values(&self) -> &StrPool {
        &self.values
    }

    pub fn byte_len(&self) -> usize {
        self.values.byte_len() + self.codes.byte_len()
    }
}

/// Builds a [`Dict`], assigning codes in first-seen order (deterministic for a given input order).
#[derive(Debug, Default)]
pub struct DictBuilder {
    index: IdMapBuilder,
    codes: Vec<u32>,
}

impl DictBuilder {
    /// The value of row `row`, if present.
    pub fn get(&self, row: usize) -> Option<&str> {
        let code = *self.codes.get(row)?;
        (code != Dict::NULL).then(|| self.index.external(NodeId(code)))
    }

    pub fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => Dict::NULL,
            Some(text) => match self.index.insert(text) {
                Ok(id) | Err(id) => id.0,
            },
        };
        self.codes.push(code);
    }

    pub fn finish(self) -> Dict {
        Dict { values: self.index.finish().pool, codes: self.codes.into() }
    }

    /// The column with row `order[i]` at row `i`, its codes again in first-seen order.
    pub fn permuted(&self, order: &[u32]) -> DictBuilder {
        let mut dict = DictBuilder { index: IdMapBuilder::default(), codes: Vec::with_capacity(order.len()) };
        let mut code_of = vec![Dict::NULL; self.index.len()];
        for &old in order {
            let code = self.codes[old as usize];
            if code != Dict::NULL && code_of[code as usize] == Dict::NULL {
                code_of[code as usize] = match dict.index.insert(self.index.external(NodeId(code))) {
                    Ok(id) | Err(id) => id.0,
                };
            }
            dict.codes.push(if code == Dict::NULL { code } else { code_of[code as usize] });
        }
        dict
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// The external-id ↔ internal-id map. Each external id is stored once, in the pool, at the index
/// equal to its internal id; `slots` is an open-addressing (linear probing) hash table of internal
/// ids at a load factor of at most 3/4, its home slot chosen by multiply-shift ("fastrange") so
/// the table need not be a power of two: about 5.3 bytes per id.
#[derive(Debug, Default)]
pub struct IdMap {
    pub(crate) pool: StrPool,
    /// Power-of-two sized; `EMPTY` marks a free slot.
    pub(crate) slots: Column<u32>,
}

const EMPTY: u32 = u32::MAX;

impl IdMap {
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    /// Moves the strings and the hash slots to an unnamed file in `dir` (see [`StrPool::spill`]).
    pub fn spill(&mut self, dir: &std::path::Path) -> std::io::Result<()> {
        self.pool.spill(dir)?;
        if self.slots.is_mapped() {
            return Ok(());
        }
        let Some((map, at)) = crate::column::spill_parts(dir, &[bytemuck::cast_slice(&self.slots[..])])? else { return Ok(()) };
        let slots = Column::mapped(map, at[0], self.slots.len())
            .ok_or_else(|| std::io::Error::other("spilled id slots: the map is shorter than what was written"))?;
        self.slots = slots;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    /// The internal id of an external id.
    pub fn get(&self, external: &str) -> Option<NodeId> {
        let slots = &*self.slots;
        if slots.is_empty() {
            return None;
        }
        let mut pos = home(external.as_bytes(), slots.len());
        // Bounded by the table size so a corrupt (full) table cannot loop forever.
        for _ in 0..slots.len() {
            let id = slots[pos];
            if id == EMPTY {
                return None;
            }
            if self.pool.get_bytes(id as usize) == external.as_bytes() {
                return Some(NodeId(id));
            }
            pos = if pos + 1 == slots.len() { 0 } else { pos + 1 };
        }
        None
    }

    /// The map whose id `i` is the pool's string `i`, or `Err((a, b))` for two equal strings.
    /// Keys are placed in the order of their hashes, so each lands in or next to the slot the
    /// previous one took (a sequential pass over the table, where inserting by id jumps about
    /// it), and equal keys meet as neighbours in that order.
    pub fn from_pool(pool: StrPool) -> Result<IdMap, (NodeId, NodeId)> {
        let mut by_hash: Vec<(u64, u32)> = (0..pool.len()).into_par_iter().map(|i| (xxh3_64(pool.get_bytes(i)), i as u32)).collect();
        by_hash.par_sort_unstable();
        let mut run = 0;
        for end in 1..=by_hash.len() {
            if end < by_hash.len() && by_hash[end].0 == by_hash[run].0 {
                continue;
            }
            // Keys of one hash: equal keys or a collision, told apart by their bytes.
            let same_hash = &by_hash[run..end];
            for (k, &(_, a)) in same_hash.iter().enumerate() {
                if let Some(&(_, b)) = same_hash[k + 1..].iter().find(|&&(_, b)| pool.get_bytes(a as usize) == pool.get_bytes(b as usize)) {
                    return Err((NodeId(a), NodeId(b)));
                }
            }
            run = end;
        }
        let size = table_size(pool.len());
        let mut slots = huge_page_vec_filled(size, EMPTY);
        for &(hash, id) in &by_hash {
            let mut pos = home_of(hash, size);
            while slots[pos] != EMPTY {
                pos = if pos + 1 == size { 0 } else { pos + 1 };
            }
            slots[pos] = id;
        }
        Ok(IdMap { pool, slots: slots.into() })
    }

    /// The external id of an internal id.
    #[inline]
    pub fn external(&self, id: NodeId) -> &str {
        self.pool.get(id.index())
    }

    pub fn pool(&self) -> &StrPool {
        &self.pool
    }

    pub fn byte_len(&self) -> usize {
        self.pool.byte_len() + self.slots.byte_len()
    }
}

/// One slot of the builder's table: the id and the key inline, so that a lookup of a key of up to
/// `INLINE_KEY` bytes reads one cache line (lookups dominate loading: two per edge, each otherwise
/// three dependent cache misses: slot, string offsets, string bytes). Longer keys keep a prefix
/// and are confirmed against the pool. 32 bytes per slot is a build-time cost only: the frozen
/// [`IdMap`] keeps 4-byte slots.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct FatSlot {
    id: u32,
    tag: Tag,
}

/// A key's length (saturated at 255) and its first `INLINE_KEY` bytes, zero-padded: equal tags
/// are a fixed-width compare (a few vector instructions, no `memcmp` call), and for keys of up
/// to `INLINE_KEY` bytes equal tags mean equal keys.
type Tag = [u8; 1 + INLINE_KEY];

const INLINE_KEY: usize = 27;
const FREE_SLOT: FatSlot = FatSlot { id: EMPTY, tag: [0; 1 + INLINE_KEY] };

fn tag_of(key: &[u8]) -> Tag {
    let mut tag = [0; 1 + INLINE_KEY];
    tag[0] = key.len().min(255) as u8;
    let n = key.len().min(INLINE_KEY);
    tag[1..1 + n].copy_from_slice(&key[..n]);
    tag
}

impl FatSlot {
    /// Whether this slot holds `key` (whose tag is `tag`); only keys longer than the inline part
    /// need the pool.
    #[inline]
    fn holds(&self, tag: &Tag, key: &[u8], pool: &StrPoolBuilder) -> bool {
        self.tag == *tag && (key.len() <= INLINE_KEY || pool.get(self.id as usize) == key)
    }
}

/// Interns external ids in insertion order.
#[derive(Debug, Default)]
pub struct IdMapBuilder {
    pool: StrPoolBuilder,
    slots: Vec<FatSlot>,
}

impl IdMapBuilder {
    pub fn with_capacity(ids: usize, bytes: usize) -> Self {
        IdMapBuilder { pool: StrPoolBuilder::with_capacity(ids, bytes), slots: huge_page_vec_filled(table_size(ids), FREE_SLOT) }
    }

    pub fn len(&self) -> usize {
        self.pool.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    /// Interns `external`: `Ok(new id)`, or `Err(existing id)` when it is already present.
    pub fn insert(&mut self, external: &str) -> Result<NodeId, NodeId> {
        if (self.pool.len() + 1) * 4 > self.slots.len() * 3 {
            self.rehash(table_size((self.pool.len() + 1) * 2));
        }
        let key = external.as_bytes();
        match self.find(key, xxh3_64(key)) {
            Ok(id) => Err(id),
            Err(pos) => {
                let new = self.pool.push(external) as u32;
                self.slots[pos] = FatSlot { id: new, tag: tag_of(key) };
                Ok(NodeId(new))
            }
        }
    }

    /// Renumbers the ids: `order[new] = old`, a permutation of all of them; returns each old
    /// id's new number. The table keeps its slots (a key's slot depends on the key alone), each
    /// slot taking its id's new number.
    pub fn renumber(&mut self, order: &[u32]) -> Vec<u32> {
        let mut new_of = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_of[old as usize] = new as u32;
        }
        self.pool = self.pool.permuted(order);
        self.slots.par_iter_mut().filter(|s| s.id != EMPTY).for_each(|s| s.id = new_of[s.id as usize]);
        new_of
    }

    /// The ids in `range` ordered by their keys' bytes. Sorted by a 16-byte big-endian prefix
    /// held inline, the whole keys compared only on equal prefixes: a sort that chased every
    /// key into the pool was five times slower.
    pub fn ids_by_key(&self, range: std::ops::Range<u32>) -> Vec<u32> {
        let prefix = |id: u32| {
            let key = self.pool.get(id as usize);
            let mut head = [0u8; 16];
            let n = key.len().min(16);
            head[..n].copy_from_slice(&key[..n]);
            u128::from_be_bytes(head)
        };
        let mut keyed: Vec<(u128, u32)> = range.into_par_iter().map(|id| (prefix(id), id)).collect();
        keyed.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| self.pool.get(a.1 as usize).cmp(self.pool.get(b.1 as usize))).then(a.1.cmp(&b.1))
        });
        keyed.into_iter().map(|(_, id)| id).collect()
    }

    /// Makes room for `additional` ids without rehashing on the way.
    pub fn reserve(&mut self, additional: usize) {
        let wanted = table_size(self.pool.len() + additional);
        if wanted > self.slots.len() {
            self.rehash(wanted);
        }
    }

    /// The external id of an interned id.
    pub fn external(&self, id: NodeId) -> &str {
        std::str::from_utf8(self.pool.get(id.index())).unwrap_or("\u{FFFD}")
    }

    pub fn get(&self, external: &str) -> Option<NodeId> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(external.as_bytes(), xxh3_64(external.as_bytes())).ok()
    }

    /// Starts loading the slot where `external` would be found, so that a lookup issued a few
    /// rows later hits the cache: the misses of consecutive lookups overlap instead of queueing.
    #[inline]
    pub fn prefetch(&self, external: &str) {
        if let Some(slot) = self.slots.get(home_of(xxh3_64(external.as_bytes()), self.slots.len())) {
            crate::csr::prefetch(slot);
        }
    }

    /// `Ok(id)` if present, else `Err(free slot)` where it would go. The table is never full.
    #[inline]
    fn find(&self, key: &[u8], hash: u64) -> Result<NodeId, usize> {
        let size = self.slots.len();
        let mut pos = home_of(hash, size);
        let tag = tag_of(key);
        loop {
            let slot = &self.slots[pos];
            if slot.id == EMPTY {
                return Err(pos);
            }
            if slot.holds(&tag, key, &self.pool) {
                return Ok(NodeId(slot.id));
            }
            pos = if pos + 1 == size { 0 } else { pos + 1 };
        }
    }

    fn rehash(&mut self, size: usize) {
        let mut slots = huge_page_vec_filled(size, FREE_SLOT);
        for id in 0..self.pool.len() {
            let key = self.pool.get(id);
            let mut pos = home_of(xxh3_64(key), size);
            while slots[pos].id != EMPTY {
                pos = if pos + 1 == size { 0 } else { pos + 1 };
            }
            slots[pos] = FatSlot { id: id as u32, tag: tag_of(key) };
        }
        self.slots = slots;
    }

    /// Freezes the map into 4-byte slots at a 3/4 load factor.
    pub fn finish(self) -> IdMap {
        let size = table_size(self.pool.len());
        let mut slots = huge_page_vec_filled(size, EMPTY);
        for id in 0..self.pool.len() {
            let mut pos = home(self.pool.get(id), size);
            while slots[pos] != EMPTY {
                pos = if pos + 1 == size { 0 } else { pos + 1 };
            }
            slots[pos] = id as u32;
        }
        IdMap { pool: self.pool.finish(), slots: slots.into() }
    }
}

/// Slots for `n` keys at a load factor of 3/4 (at least 16).
fn table_size(n: usize) -> usize {
    (n.saturating_mul(4) / 3 + 1).max(16)
}

/// The home slot of a key: multiply-shift maps the hash onto `0..size` without a modulo.
#[inline]
fn home(key: &[u8], size: usize) -> usize {
    home_of(xxh3_64(key), size)
}

#[inline]
fn home_of(hash: u64, size: usize) -> usize {
    ((hash as u128 * size as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spilled_id_map_finds_and_reads_every_string_and_leaves_no_file() {
        let dir = tempfile::tempdir().expect("temp");
        // Past one pool segment, with empty and multi-byte strings.
        let keys: Vec<String> =
            (0..(1usize << SEGMENT_BITS) + 77).map(|i| if i % 1000 == 3 { String::new() } else { format!("id-{i}-é") }).collect();
        let mut builder = IdMapBuilder::default();
        let mut ids = Vec::new();
        for key in &keys {
            ids.push(match builder.insert(key) {
                Ok(id) | Err(id) => id,
            });
        }
        let mut map = builder.finish();
        map.spill(dir.path()).expect("spill");
        assert!(map.pool.bytes.is_mapped() && map.pool.ends.is_mapped() && map.pool.bases.is_mapped() && map.slots.is_mapped());
        for (key, &id) in keys.iter().zip(&ids) {
            assert_eq!(map.get(key), Some(id), "{key}");
            assert_eq!(map.external(id), key.as_str());
        }
        assert_eq!(map.get("id-absent"), None);
        map.spill(dir.path()).expect("a mapped map stays as it is");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "unnamed files only");
        // Nothing to write, and a folder that does not exist: the pool stays in memory, intact.
        let mut empty = StrPoolBuilder::default().finish();
        empty.spill(dir.path()).expect("empty");
        assert!(!empty.bytes.is_mapped() && empty.is_empty());
        let mut pool = StrPoolBuilder::default();
        pool.push("kept");
        let mut pool = pool.finish();
        assert!(pool.spill(&dir.path().join("missing")).is_err());
        assert_eq!(pool.get(0), "kept");
    }

    #[test]
    fn keys_sharing_the_inline_prefix_stay_distinct() {
        let prefix = "x".repeat(INLINE_KEY);
        // Equal tags (prefix, saturated length) but different keys, and inline-length neighbours.
        let keys = [
            prefix.clone(),
            format!("{prefix}a"),
            format!("{prefix}b"),
            format!("{}1", "y".repeat(299)),
            format!("{}2", "y".repeat(299)),
            prefix[..INLINE_KEY - 1].to_string(),
            "\0".to_string(),
        ];
        let mut builder = IdMapBuilder::default();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(builder.insert(key), Ok(NodeId(i as u32)), "{key}");
        }
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(builder.get(key), Some(NodeId(i as u32)));
            assert_eq!(builder.insert(key), Err(NodeId(i as u32)));
        }
        assert_eq!(builder.get(&format!("{prefix}c")), None);
        assert_eq!(builder.get(""), None);
    }

    #[test]
    fn interner_round_trips_and_reports_duplicates() {
        let mut builder = IdMapBuilder::default();
        let ids: Vec<String> = (0..1000).map(|i| format!("91110000{i:010}")).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(builder.insert(id), Ok(NodeId(i as u32)));
        }
        assert_eq!(builder.insert(&ids[7]), Err(NodeId(7)));
        let map = builder.finish();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(map.get(id), Some(NodeId(i as u32)));
            assert_eq!(map.external(NodeId(i as u32)), id);
        }
        assert_eq!(map.get("absent"), None);
        assert_eq!(map.get(""), None);
    }

    #[test]
    fn a_map_from_a_pool_finds_every_key_and_names_equal_keys() {
        let n = (1 << SEGMENT_BITS) + 7;
        let mut builder = StrPoolBuilder::default();
        for i in 0..n {
            builder.push(&format!("9111{i:014}"));
        }
        let map = IdMap::from_pool(builder.finish()).expect("distinct keys");
        for i in [0, 1, 4095, 1 << SEGMENT_BITS, n - 1] {
            assert_eq!(map.get(&format!("9111{i:014}")), Some(NodeId(i as u32)));
        }
        assert_eq!(map.get("9111"), None);
        assert_eq!(map.get(&format!("9111{n:014}")), None);
        assert_eq!((0..n).filter(|&i| map.get(map.external(NodeId(i as u32))) == Some(NodeId(i as u32))).count(), n);

        // Equal keys far apart in id order, beside a key they are a prefix of.
        let mut builder = StrPoolBuilder::default();
        for key in ["a", "x", "b", "xx", "c", "x"] {
            builder.push(key);
        }
        assert_eq!(IdMap::from_pool(builder.finish()).err(), Some((NodeId(1), NodeId(5))));
        assert!(IdMap::from_pool(StrPool::default()).is_ok_and(|m| m.is_empty() && m.get("").is_none()));
    }

    #[test]
    fn rewritten_pools_keep_order_across_segments_and_cut_long_strings() {
        let n = (1 << SEGMENT_BITS) * 2 + 5;
        let mut builder = StrPoolBuilder::default();
        for i in 0..n {
            builder.push(&format!("s{i}"));
        }
        let pool = builder.finish().rewritten(|i, old, out| {
            if i == n - 1 {
                out.push_str(&"é".repeat(MAX_STRING_BYTES));
            } else if i % 3 == 0 {
                out.push_str(old);
            } else {
                out.push_str(&format!("t{}", i * 2));
            }
        });
        assert!(pool.is_well_formed());
        assert_eq!(pool.len(), n);
        for i in [0, 1, 65535, 65536, 65537, 131072, n - 2] {
            let expected = if i % 3 == 0 { format!("s{i}") } else { format!("t{}", i * 2) };
            assert_eq!(pool.get(i), expected);
        }
        // Cut at a char boundary below the limit: "é" is two bytes.
        assert_eq!(pool.get(n - 1).len(), MAX_STRING_BYTES - 1);
    }

    #[test]
    fn pools_span_segments_and_keep_long_strings_apart() {
        let mut builder = StrPoolBuilder::default();
        let n = (1 << SEGMENT_BITS) * 2 + 5;
        for i in 0..n {
            builder.push(&format!("s{i}"));
        }
        builder.push(&"x".repeat(MAX_STRING_BYTES + 10));
        let pool = builder.finish();
        assert!(pool.is_well_formed());
        for i in [0, 1, 65535, 65536, 65537, n - 1] {
            assert_eq!(pool.get(i), format!("s{i}"));
        }
        assert_eq!(pool.get(n).len(), MAX_STRING_BYTES);
    }

    #[test]
    fn dictionary_keeps_nulls_and_first_seen_codes() {
        let mut builder = DictBuilder::default();
        for value in [Some("retail"), None, Some("mining"), Some("retail")] {
            builder.push(value);
        }
        let dict = builder.finish();
        assert_eq!(dict.codes(), &[0, Dict::NULL, 1, 0]);
        assert_eq!(dict.get(1), None);
        assert_eq!(dict.get(3), Some("retail"));
    }
}
