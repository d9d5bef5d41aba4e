//! The exposure (impact) network between firms that DebtRank and the default cascade run on.
//!
//! `W[i → j] = min(1, L[j ← i] / C_j)`: the fraction of `j`'s buffer `C_j` (registered capital by
//! default) that `j` loses when `i` defaults, where `L[j ← i]` sums, over the chosen relations:
//! - guarantees: the amount `j` guaranteed for `i` (edge `j → i`);
//! - shareholdings: `share × C_i` for `j`'s holding in `i` (its equity in `i` is wiped out);
//! - supply links, both ways along the value chain: `supply_loss_rate × volume` for a supplier
//!   `j` of customer `i` (unpaid receivables), and `supply_disruption_rate × dependence × C_j` for
//!   a customer `j` of supplier `i`, where `dependence` is `i`'s share of everything `j` buys
//!   (a customer that buys all its inputs from `i` loses `supply_disruption_rate` of its buffer;
//!   one with many suppliers little; a customer without a known buffer is given none).
//!
//! A firm with an unknown or non-positive buffer has nothing to absorb a loss with: any loss
//! distresses it fully (`W = 1`); such firms are counted. Links with persons are left out (persons
//! carry no buffer in the data contract).

use ekg_schema::{Graph, NodeId, NodeKind, Relation};

pub const DEFAULT_SUPPLY_LOSS_RATE: f64 = 0.25;
/// Share of its buffer a customer loses when the only supplier it buys from fails: conservative,
/// since a customer can often switch suppliers (on the sample it raises contagion flags 1.5×,
/// where 0.3 would triple them).
pub const DEFAULT_SUPPLY_DISRUPTION_RATE: f64 = 0.1;

/// How a loss reaches a firm; `ImpactNetwork::channels` splits each link's loss by these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// It guaranteed the defaulting firm's debt.
    Guarantee = 0,
    /// It holds shares in the defaulting firm.
    Equity = 1,
    /// Downstream: a customer of it defaulted (unpaid receivables).
    Downstream = 2,
    /// Upstream: a supplier it depends on failed (disrupted supply).
    Upstream = 3,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Guarantee, Channel::Equity, Channel::Downstream, Channel::Upstream];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Guarantee => "guarantee",
            Channel::Equity => "equity",
            Channel::Downstream => "downstream",
            Channel::Upstream => "upstream",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImpactConfig {
    /// Any of guarantees, shareholdings and supply links.
    pub relations: Vec<Relation>,
    pub supply_loss_rate: f64,
    pub supply_disruption_rate: f64,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            relations: vec![Relation::Guarantee, Relation::Shareholding, Relation::Supply],
            supply_loss_rate: DEFAULT_SUPPLY_LOSS_RATE,
            supply_disruption_rate: DEFAULT_SUPPLY_DISRUPTION_RATE,
        }
    }
}

/// `W` as CSR by the distressed firm: `targets[offsets[i]..offsets[i + 1]]` are the firms `i`'s
/// default hits, ascending, with `weights` in (0, 1].
#[derive(Clone, Debug, Default)]
pub struct ImpactNetwork {
    pub firms: u32,
    pub offsets: Vec<u64>,
    pub targets: Vec<u32>,
    pub weights: Vec<f64>,
    /// Firms hit by some loss whose buffer is unknown or ≤ 0.
    pub unbuffered: u32,
    /// Per link: the share of its loss that came through each [`Channel`] (indexed by it).
    pub channels: Vec<[f32; 4]>,
}

impl ImpactNetwork {
    /// From (defaulting i, losing j, loss) triples and buffers `C`, every loss counted as a
    /// guarantee's.
    pub fn from_losses(firms: u32, losses: Vec<(u32, u32, f64)>, buffer: &[f64]) -> ImpactNetwork {
        ImpactNetwork::from_channel_losses(firms, losses.into_iter().map(|(i, j, l)| (i, j, l, Channel::Guarantee)).collect(), buffer)
    }

    /// From (defaulting i, losing j, loss, channel) and buffers `C`.
    pub fn from_channel_losses(firms: u32, mut losses: Vec<(u32, u32, f64, Channel)>, buffer: &[f64]) -> ImpactNetwork {
        losses.retain(|&(i, j, l, _)| i < firms && j < firms && i != j && l.is_finite() && l > 0.0);
        losses.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)).then((a.3 as u8).cmp(&(b.3 as u8))));
        let mut offsets = vec![0u64; firms as usize + 1];
        let mut targets = Vec::new();
        let mut weights = Vec::new();
        let mut channels = Vec::new();
        let mut unbuffered_flag = vec![false; firms as usize];
        let mut k = 0;
        while k < losses.len() {
            let (i, j) = (losses[k].0, losses[k].1);
            let mut loss = 0.0;
            let mut by_channel = [0.0f64; 4];
            while k < losses.len() && losses[k].0 == i && losses[k].1 == j {
                loss += losses[k].2;
                by_channel[losses[k].3 as usize] += losses[k].2;
                k += 1;
            }
            channels.push(by_channel.map(|x| (x / loss) as f32));
            let c = buffer.get(j as usize).copied().unwrap_or(f64::NAN);
            let w = if c.is_finite() && c > 0.0 {
                (loss / c).min(1.0)
            } else {
                unbuffered_flag[j as usize] = true;
                1.0
            };
            targets.push(j);
            weights.push(w);
            offsets[i as usize + 1] += 1;
        }
        for i in 0..firms as usize {
            offsets[i + 1] += offsets[i];
        }
        let unbuffered = unbuffered_flag.iter().filter(|&&b| b).count() as u32;
        ImpactNetwork { firms, offsets, targets, weights, unbuffered, channels }
    }

    /// The network of `graph`'s firms; `buffer` per firm (e.g. registered capital).
    pub fn from_graph(graph: &Graph, buffer: &[f64], config: &ImpactConfig) -> ImpactNetwork {
        let firms = graph.kind_count(NodeKind::Firm) as u32;
        let is_firm = |v: NodeId| v.0 < firms;
        let mut losses = Vec::new();
        // Each customer's total purchases over supply links: the base of its dependence shares.
        let supply = graph.relation(Relation::Supply);
        let volumes = supply.f64_attr("volume").unwrap_or(&[]);
        let mut purchases = vec![0.0f64; firms as usize];
        for (e, dst) in supply.forward.targets().iter().enumerate() {
            let x = volumes.get(e).copied().unwrap_or(f64::NAN);
            if is_firm(*dst) && x.is_finite() && x > 0.0 {
                purchases[dst.index()] += x;
            }
        }
        for &relation in &config.relations {
            let store = graph.relation(relation);
            let forward = &store.forward;
            let row_start = forward.row_start();
            let weight = relation.weight_attr().and_then(|a| store.f64_attr(a)).unwrap_or(&[]);
            for (row, pair) in forward.offsets().windows(2).enumerate() {
                let src = NodeId(row_start + row as u32);
                if !is_firm(src) {
                    continue;
                }
                for e in pair[0] as usize..pair[1] as usize {
                    let dst = forward.targets()[e];
                    let x = weight.get(e).copied().unwrap_or(f64::NAN);
                    if !is_firm(dst) || !x.is_finite() {
                        continue;
                    }
                    match relation {
                        // guarantor src loses the amount when borrower dst defaults.
                        Relation::Guarantee => losses.push((dst.0, src.0, x, Channel::Guarantee)),
                        // holder src loses share × C_dst when dst defaults.
                        Relation::Shareholding => {
                            let c = buffer.get(dst.index()).copied().unwrap_or(f64::NAN);
                            if c.is_finite() {
                                losses.push((dst.0, src.0, x * c, Channel::Equity));
                            }
                        }
                        // supplier src loses receivables when customer dst defaults; customer dst
                        // loses by its dependence on src when src fails.
                        Relation::Supply => {
                            losses.push((dst.0, src.0, config.supply_loss_rate * x, Channel::Downstream));
                            let (c, bought) = (buffer.get(dst.index()).copied().unwrap_or(f64::NAN), purchases[dst.index()]);
                            if config.supply_disruption_rate > 0.0 && x > 0.0 && bought > 0.0 && c.is_finite() && c > 0.0 {
                                losses.push((src.0, dst.0, config.supply_disruption_rate * (x / bought) * c, Channel::Upstream));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        ImpactNetwork::from_channel_losses(firms, losses, buffer)
    }

    #[inline]
    pub fn impacts(&self, i: u32) -> (&[u32], &[f64], usize) {
        let start = self.offsets[i as usize] as usize;
        let end = self.offsets[i as usize + 1] as usize;
        (&self.targets[start..end], &self.weights[start..end], start)
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }
}
