//! Community detection.
pub mod lpa;
