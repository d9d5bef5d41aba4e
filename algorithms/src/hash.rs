//! Small hashing helpers, written by hand to keep this crate's dependencies at schema + rayon.
//!
//! - [`FastMap`]/[`FastSet`]: std maps with a multiply-rotate hasher (the FxHash construction of
//!   rustc) for u32 node keys in per-task scratch maps. No random state, so iteration order is a
//!   function of the insertions, never of the process; results are still sorted before use.
//! - [`unit`]: a counter-based random number (SplitMix64 finaliser, Steele et al. 2014) so a
//!   Monte Carlo draw is a pure function of (seed, run, item) and results do not depend on which
//!   thread ran which run.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(FX_SEED);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

/// The SplitMix64 finaliser: a bijection of u64 whose every output bit depends on every input bit.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) determined by its coordinates alone. `stream` separates kinds of
/// draw (node coin vs edge coin) so they never coincide.
#[inline]
pub fn unit(seed: u64, stream: u64, run: u64, item: u64) -> f64 {
    unit_in_run(run_key(seed, stream, run), item)
}

/// The part of [`unit`] fixed by (seed, stream, run): a loop drawing many items of one run
/// computes it once and calls [`unit_in_run`], with the same draws as [`unit`].
#[inline]
pub fn run_key(seed: u64, stream: u64, run: u64) -> u64 {
    mix(mix(seed ^ stream.wrapping_mul(0xd6e8_feb8_6659_fd93)) ^ run)
}

/// A key for the ordered pair (a, b), for an item named by two others (a link by its ends):
/// (b, a) has another key.
#[inline]
pub fn pair_key(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b))
}

#[inline]
pub fn unit_in_run(run_key: u64, item: u64) -> f64 {
    (mix(run_key ^ item) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_draws_are_uniform_enough_and_reproducible() {
        let n = 200_000u64;
        let mean: f64 = (0..n).map(|i| unit(7, 1, 3, i)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        let below: usize = (0..n).filter(|&i| unit(7, 1, 3, i) < 0.1).count();
        assert!((below as f64 / n as f64 - 0.1).abs() < 0.003);
        assert_eq!(unit(1, 2, 3, 4), unit(1, 2, 3, 4));
        assert_ne!(unit(1, 2, 3, 4), unit(1, 3, 3, 4));
        assert_eq!(unit(9, 2, 5, 11), unit_in_run(run_key(9, 2, 5), 11));
    }
}
