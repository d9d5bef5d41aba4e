//! Analysis parameters defined once: each struct derives its `ekg run` flags (clap) and its
//! `score.toml` section (serde) from the same fields, takes its defaults from the algorithm's
//! `DEFAULT_*` constants, validates in one place and turns itself into the algorithm's config.
//! The flags' help is also the meaning `ekg score --print-config` prints for each key.

pub mod communities;
pub mod contagion;
pub mod ownership;
pub mod pagerank;
pub mod rings;
