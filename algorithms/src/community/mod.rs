//! Community detection.
pub mod leiden;
pub mod louvain;
pub mod lpa;
mod weighted;
