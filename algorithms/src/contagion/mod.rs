//! Contagion: how default spreads between firms — the guarantee network, DebtRank and Monte Carlo
//! default cascades over the exposure (impact) network of guarantees, holdings and supply links.

pub mod cascade;
pub mod chain;
pub mod debtrank;
pub mod guarantees;
pub mod impact;

pub use cascade::{default_cascade, CascadeConfig, CascadeResult};
pub use chain::{strongest_chain, Chain, ImpactSources};
pub use debtrank::{debt_rank, economic_weights, systemic_importance, DebtRankResult};
pub use guarantees::{guarantee_network, Circle, GuaranteeResult};
pub use impact::{ImpactConfig, ImpactNetwork};
