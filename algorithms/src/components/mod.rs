//! Connected components: weakly (union-find) and strongly (iterative Tarjan).
pub mod scc;
pub mod wcc;

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::locality::prefetch;

/// Dense component ids ordered by size (largest first), ties by representative; `labels[v]` is any
/// per-node representative (e.g. the minimum local id of the component).
pub fn dense_by_size(labels: &[u32]) -> (Vec<u32>, Vec<u64>) {
    dense_by_size_hinted(labels, None)
}

/// As [`dense_by_size`]; `frequent` names a label expected on many nodes (a giant component),
/// counted per chunk instead of through one shared counter that every thread would contend on.
pub fn dense_by_size_hinted(labels: &[u32], frequent: Option<u32>) -> (Vec<u32>, Vec<u64>) {
    let n = labels.len();
    let size: Vec<AtomicU32> = (0..n).into_par_iter().map(|_| AtomicU32::new(0)).collect();
    let frequent_count: u64 = labels
        .par_chunks(1 << 14)
        .map(|chunk| {
            let mut local = 0u64;
            for (i, &l) in chunk.iter().enumerate() {
                if let Some(&ahead) = chunk.get(i + 16) {
                    prefetch(&size[ahead as usize]);
                }
                if Some(l) == frequent {
                    local += 1;
                } else {
                    size[l as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
            local
        })
        .sum();
    if let Some(f) = frequent.filter(|&f| (f as usize) < n) {
        size[f as usize].fetch_add(frequent_count as u32, Ordering::Relaxed);
    }
    // Packed (descending size, ascending representative) keys: one integer sort. Singletons,
    // often most components, come last in id order and need no sort.
    let mut keys: Vec<u64> = size
        .par_iter()
        .enumerate()
        .filter_map(|(r, s)| {
            let s = s.load(Ordering::Relaxed);
            (s > 1).then(|| ((u32::MAX - s) as u64) << 32 | r as u64)
        })
        .collect();
    keys.par_sort_unstable();
    let singletons: Vec<u32> =
        size.par_iter().enumerate().filter_map(|(r, s)| (s.load(Ordering::Relaxed) == 1).then_some(r as u32)).collect();
    let dense = size; // reused: representative → dense id
    keys.par_iter().enumerate().for_each(|(i, &k)| dense[k as u32 as usize].store(i as u32, Ordering::Relaxed));
    singletons.par_iter().enumerate().for_each(|(i, &r)| dense[r as usize].store((keys.len() + i) as u32, Ordering::Relaxed));
    let sizes: Vec<u64> =
        keys.par_iter().map(|&k| (u32::MAX - (k >> 32) as u32) as u64).chain(rayon::iter::repeat_n(1, singletons.len())).collect();
    let mut component = vec![0u32; n];
    component.par_chunks_mut(1 << 14).zip(labels.par_chunks(1 << 14)).for_each(|(out, chunk)| {
        for (i, (slot, &l)) in out.iter_mut().zip(chunk).enumerate() {
            if let Some(&ahead) = chunk.get(i + 16) {
                prefetch(&dense[ahead as usize]);
            }
            *slot = dense[l as usize].load(Ordering::Relaxed);
        }
    });
    (component, sizes)
}
