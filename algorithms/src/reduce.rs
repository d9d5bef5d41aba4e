//! Deterministic parallel reductions: fixed-size chunks summed in order, then the chunk sums in
//! chunk order, so a float sum is bit-identical for any thread count.

use rayon::prelude::*;

pub const CHUNK: usize = 1 << 14;

/// Σ f(i, values[i]) in a fixed association order.
pub fn chunked_sum(values: &[f64], f: impl Fn(usize, f64) -> f64 + Sync) -> f64 {
    let partial: Vec<f64> =
        values.par_chunks(CHUNK).enumerate().map(|(c, chunk)| chunk.iter().enumerate().map(|(k, &x)| f(c * CHUNK + k, x)).sum()).collect();
    partial.iter().sum()
}
