//! Large random-access arrays backed by transparent huge pages.
//!
//! Hash tables, CSR targets and per-node value arrays of a national graph are hundreds of MiB
//! read at random: with 4 KiB pages nearly every access also misses the TLB, and under a
//! hypervisor each of those page walks is nested. Linux backs a range with 2 MiB pages only when
//! asked (`madvise` mode is the common default), and only for pages not yet touched, so these
//! helpers advise before the first write. [`HugePageAlloc`] does the same for every large
//! allocation of a program that installs it (the `ekg` binary and the benches do), which also
//! makes the kernel's zeroing of fresh memory one fault per 2 MiB instead of per 4 KiB.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, with allocations of at least [`HUGE_PAGE_MIN_BYTES`] advised for
/// transparent huge pages. Small allocations are untouched.
pub struct HugePageAlloc;

/// Below this, an allocation spans too few huge pages to matter.
pub const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

// SAFETY: every call is forwarded to `System` with the same arguments; the advice only changes how
// the returned range is backed, never its contents or extent.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (the caller upholds `GlobalAlloc::alloc`'s contract).
        let p = unsafe { System.alloc(layout) };
        advise_if_large(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`. Large zeroed blocks are fresh mappings not yet touched, so the
        // advice still applies to all their pages.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise_if_large(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        advise_if_large(p, new_size);
        p
    }
}

/// Sets glibc's allocator up for a process that allocates and frees arrays of hundreds of MiB over
/// and over (multilevel community detection does, level after level): call it first in `main`.
///
/// - One arena (`M_ARENA_MAX`): by default a thread that finds the arena busy gets an arena of
///   its own, and memory freed in one arena serves only that arena's threads. With an algorithm
///   run on a pool worker (as Louvain and Leiden are), nothing it allocated could reuse what
///   loading had freed on the main thread, and the enterprise Leiden bench peaked at 2.81 GB
///   instead of 2.22 GB. The hot loops do not allocate, and small blocks come from each thread's
///   own cache (glibc's tcache) without the lock.
/// - No block served by its own `mmap`, and no memory handed back (`M_MMAP_MAX` 0,
///   `M_TRIM_THRESHOLD` at its maximum): glibc maps every block over 32 MiB afresh and unmaps it
///   on free, so each level's arrays were new pages, faulted in and zeroed by the kernel (0.9 s
///   of CPU in `clear_page_rep` during a 20 s enterprise Leiden run, none after). Freed memory
///   now stays in the heap for the next level: the Kronecker scale-22 Leiden bench went from
///   32–34 s to 27–28 s. The cost is a higher peak where freed blocks cannot be reused whole:
///   6.42 -> 6.92 GB for that bench, 2.22 -> 2.34 GB for the enterprise one, 5.83 -> 5.96 GB
///   for `ekg score` on the 1M-firm graph.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Undoes the part of [`tune_malloc`] that keeps freed memory: blocks of 1 MiB and more get their
/// own mapping again, returned on free, and the heap's free top is trimmed. For a process whose
/// memory is the point, a distributed worker: its rounds allocate and drop batches of hundreds
/// of MiB, and with nothing returned its peak is the heap's high-water mark (1M firms on one
/// process: 5.35 GB kept against 4.54 GB returned).
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 65536);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

fn advise_if_large(p: *mut u8, bytes: usize) {
    if !p.is_null() && bytes >= HUGE_PAGE_MIN_BYTES {
        advise_huge_pages_raw(p as usize, bytes);
    }
}

/// A vector of `len` copies of `value` whose pages are advised huge before they are written.
pub fn huge_page_vec_filled<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    let spare = v.spare_capacity_mut();
    advise_huge_pages_raw(spare.as_mut_ptr() as usize, std::mem::size_of_val(spare));
    v.resize(len, value);
    v
}

/// A zeroed (default-filled) vector advised as [`huge_page_vec_filled`].
pub fn huge_page_vec<T: Clone + Default>(len: usize) -> Vec<T> {
    huge_page_vec_filled(len, T::default())
}

fn advise_huge_pages_raw(start: usize, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let end = start + bytes;
        let aligned = start.div_ceil(HUGE) * HUGE;
        if end > aligned + HUGE {
            let len = (end - aligned) / HUGE * HUGE;
            // SAFETY: the range lies inside one live allocation; MADV_HUGEPAGE changes no
            // contents, only how the pages are backed, and its failure is harmless.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_vectors_hold_their_values() {
        let v = huge_page_vec_filled(5 << 20, 7u32);
        assert_eq!(v.len(), 5 << 20);
        assert!(v.iter().all(|&x| x == 7));
        assert_eq!(huge_page_vec::<u64>(3), vec![0, 0, 0]);
        assert!(huge_page_vec::<u8>(0).is_empty());
    }
}
