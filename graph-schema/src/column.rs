//! `Column<T>`: a read-only array that is either owned or borrowed from a memory-mapped snapshot.
//!
//! Every large part of the graph is a `Column`, so a graph built in memory and one mapped from a
//! snapshot are the same type and algorithms never know the difference.

use std::io::Write;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

/// A read-only array of plain values.
pub struct Column<T: Pod> {
    repr: Repr<T>,
}

enum Repr<T> {
    Owned(Vec<T>),
    /// Invariant (checked by [`Column::mapped`]): `start` is aligned for `T` and
    /// `start + len * size_of::<T>() <= map.len()`.
    Mapped {
        map: Arc<Mmap>,
        start: usize,
        len: usize,
    },
}

impl<T: Pod> Column<T> {
    /// A view of `len` values of `T` at byte `start` of a mapped snapshot, or `None` when the
    /// range is out of bounds or misaligned.
    pub fn mapped(map: Arc<Mmap>, start: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        let end = start.checked_add(bytes)?;
        let slice = map.get(start..end)?;
        // Proves alignment once so `deref` cannot fail.
        bytemuck::try_cast_slice::<u8, T>(slice).ok()?;
        Some(Column { repr: Repr::Mapped { map, start, len } })
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.repr, Repr::Mapped { .. })
    }

    /// Bytes this column occupies (resident or mapped).
    pub fn byte_len(&self) -> usize {
        std::mem::size_of_val(self.deref())
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.repr {
            Repr::Owned(values) => values,
            Repr::Mapped { map, start, len } => {
                let bytes = &map[*start..*start + *len * std::mem::size_of::<T>()];
                // Alignment and bounds were proven in `Column::mapped`.
                bytemuck::cast_slice(bytes)
            }
        }
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(values: Vec<T>) -> Self {
        Column { repr: Repr::Owned(values) }
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Column::from(Vec::new())
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Column(len={}, mapped={})", self.len(), self.is_mapped())
    }
}

/// Writes `parts` one after another, each starting at a multiple of 8 bytes, to an unnamed file in
/// `dir` (O_TMPFILE: nothing is left behind however the process ends) and maps it back
/// read-only; returns the map and where each part starts, or `None` when there is nothing to
/// write (an empty file cannot be mapped). Data moved there stays readable while the kernel may
/// drop its pages and read them again, which it cannot do with heap memory.
pub fn spill_parts(dir: &Path, parts: &[&[u8]]) -> std::io::Result<Option<(Arc<Mmap>, Vec<usize>)>> {
    if parts.iter().all(|p| p.is_empty()) {
        return Ok(None);
    }
    let mut file = std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(dir)?);
    let (mut at, mut starts) = (0usize, Vec::with_capacity(parts.len()));
    for part in parts {
        let pad = at.next_multiple_of(8) - at;
        file.write_all(&[0u8; 8][..pad])?;
        at += pad;
        starts.push(at);
        file.write_all(part)?;
        at += part.len();
    }
    let file = file.into_inner().map_err(|e| e.into_error())?;
    // SAFETY: the file is this process's own and unnamed, so nothing else can change it while mapped.
    let map = Arc::new(unsafe { Mmap::map(&file) }?);
    Ok(Some((map, starts)))
}
