//! Analysis parameters defined once: each struct derives its `ekg run` flags (clap) and its
//! `score.toml` section (serde) from the same fields, takes its defaults from the algorithm's
//! `DEFAULT_*` constants, validates in one place and turns itself into the algorithm's config.

pub mod rings;
