//! Integration tests of ekg-algorithms against independent references.

mod determinism;
mod graphalytics;
mod networkx;
