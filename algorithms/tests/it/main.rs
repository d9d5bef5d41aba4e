//! Integration tests of ekg-algorithms against independent references.

mod communities;
mod contagion;
mod degenerate;
mod determinism;
mod graphalytics;
mod networkx;
mod ownership;
mod rings;
