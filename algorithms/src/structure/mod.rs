//! Local structure on the simple undirected view: triangles, clustering, core numbers.
pub mod kcore;
pub mod triangles;
