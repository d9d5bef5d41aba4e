//! Integration tests of ekg-algorithms against independent references.

mod clusters;
mod communities;
mod contagion;
mod degenerate;
mod determinism;
mod graphalytics;
mod networkx;
mod ownership;
mod projection;
mod rings;
mod segments;
mod sme;
mod social;
mod supply_chain;

/// The tests' one random generator (xorshift64): seeded, reproducible, no dependency.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> TestRng {
        TestRng(seed | 1)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
