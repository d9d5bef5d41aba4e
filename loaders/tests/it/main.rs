//! Integration tests of the loaders: one binary, one module per concern.

mod common;
mod equivalence;
mod finbench;
mod properties;
mod snapshot;
mod structure;
mod validation;
