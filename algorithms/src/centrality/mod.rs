//! Centrality: PageRank and personalized (risk-seeded) PageRank.
pub mod pagerank;
