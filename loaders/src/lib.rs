//! `ekg-loaders`: input files into the ekg graph, validating every row against the contract.
//!
//! Layers: [`dataset`] finds a folder's table files; [`source`] turns a Parquet or CSV file into
//! Arrow record batches (Parquet row groups in parallel); [`values`] reads any common physical
//! encoding of a logical column; [`load`] is the one mapping step from batches to the graph
//! builder, collecting every problem with file, row and column; [`finbench`] adapts the LDBC
//! FinBench layout onto the same contract; [`estimate`] predicts memory before loading.

pub mod dataset;
pub mod error;
pub mod estimate;
pub mod finbench;
pub mod load;
pub mod problems;
pub mod source;
pub mod values;

pub use dataset::{Dataset, FileFormat, TableFile};
pub use ekg_schema::pii::{mask, mask_personal};
pub use error::{Error, Result};
pub use load::{load_dataset, LoadOptions, LoadReport, OnError, TableReport};
pub use problems::{Problem, ProblemLog, Rule};
pub use source::Encoding;
