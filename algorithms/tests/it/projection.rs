//! Projections against lists built naively from the graph's edges: every edge of the chosen
//! relations once per direction (twice, both ways, when undirected), each list sorted by
//! neighbour then weight, weights 1 where absent, not positive or not finite.

use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::builder::{FirmRow, GraphBuilder};
use ekg_schema::{Graph, NodeId, NodeKind, Relation};

use super::TestRng;

/// Firms, their accounts, and transfers with repeats, self-loops and odd amounts.
fn graph(seed: u64) -> Graph {
    let mut rng = TestRng::new(seed);
    let mut b = GraphBuilder::new();
    let (firms, accounts) = (12u32, 30u32);
    for f in 0..firms {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        b.push_firm(&FirmRow { registered_capital: 1.0, ..FirmRow::default() });
    }
    for a in 0..accounts {
        b.add_node(NodeKind::Account, &format!("a{a}")).expect("node").expect("new");
        b.account_opened.push(0);
        b.account_blocked.push(0);
    }
    let owners = b.edges_mut(Relation::AccountOwner);
    for a in 0..accounts {
        // A few accounts without an owner; firm 0 owns many.
        if a % 7 != 6 {
            owners.src.push(NodeId(if a % 3 == 0 { 0 } else { rng.below(firms as u64) as u32 }));
            owners.dst.push(NodeId(firms + a));
        }
    }
    let transfers = b.edges_mut(Relation::Transfer);
    let mut last = (0, 0);
    for k in 0..150 {
        // Every fourth transfer repeats the previous pair (another amount, so ties on the
        // neighbour are ordered by weight); every tenth loops back to its sender.
        let (src, dst) = match k % 20 {
            _ if k % 4 == 1 => last,
            0 | 10 => {
                let a = rng.below(accounts as u64) as u32;
                (a, a)
            }
            _ => (rng.below(accounts as u64) as u32, rng.below(accounts as u64) as u32),
        };
        last = (src, dst);
        let amount = match rng.below(8) {
            0 => 0.0,
            1 => -5.0,
            2 => f64::NAN,
            _ => (1 + rng.below(4)) as f64 * 10.0,
        };
        transfers.src.push(NodeId(firms + src));
        transfers.dst.push(NodeId(firms + dst));
        transfers.f64_attr_mut(0).push(amount);
        transfers.i64_attr_mut(1).push(k as i64);
    }
    b.finish().expect("graph")
}

type Lists = Vec<Vec<(u32, f64)>>;

/// (out lists, in lists) by local id, from the graph's forward edges alone.
fn naive(graph: &Graph, p: &Projection, config: &ProjectionConfig) -> (Lists, Lists) {
    let n = p.node_count();
    let (mut out, mut inn): (Lists, Lists) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    let local = |v: NodeId| p.local_id(v).expect("an endpoint of a chosen relation is in the projection");
    for &r in &config.relations {
        let store = graph.relation(r);
        let weights = if config.weighted { r.weight_attr().and_then(|a| store.f64_attr(a)) } else { None };
        for v in 0..graph.node_count() as u32 {
            let range = store.forward.range(NodeId(v));
            for (e, t) in range.clone().zip(&store.forward.targets()[range]) {
                let w = weights.map(|w| w[e]).filter(|w| w.is_finite() && *w > 0.0).unwrap_or(1.0);
                let (s, t) = (local(NodeId(v)), local(*t));
                out[s as usize].push((t, w));
                if config.undirected {
                    out[t as usize].push((s, w));
                } else {
                    inn[t as usize].push((s, w));
                }
            }
        }
    }
    if config.undirected {
        inn = out.clone();
    }
    for list in out.iter_mut().chain(inn.iter_mut()) {
        list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    }
    (out, inn)
}

#[test]
fn projections_hold_every_edge_once_per_direction_sorted() {
    let configs = [
        ProjectionConfig { relations: vec![Relation::Transfer], undirected: false, weighted: true },
        ProjectionConfig { relations: vec![Relation::AccountOwner, Relation::Transfer], undirected: false, weighted: false },
        ProjectionConfig { relations: vec![Relation::Transfer, Relation::AccountOwner], undirected: true, weighted: true },
        ProjectionConfig { relations: vec![Relation::AccountOwner], undirected: true, weighted: false },
    ];
    for seed in 1..=5 {
        let graph = graph(seed);
        for config in &configs {
            let p = Projection::new(&graph, config);
            // The nodes are every node of the relations' kinds, in graph order.
            let kinds: Vec<NodeKind> = config
                .relations
                .iter()
                .flat_map(|r| {
                    let (s, d) = r.endpoint_kinds();
                    s.iter().chain(d.iter()).collect::<Vec<_>>()
                })
                .collect();
            let expected_nodes: Vec<NodeId> =
                (0..graph.node_count() as u32).map(NodeId).filter(|&v| kinds.contains(&graph.kind(v))).collect();
            assert_eq!(p.nodes, expected_nodes, "{config:?}");
            let (out, inn) = naive(&graph, &p, config);
            let edges: usize = out.iter().map(Vec::len).sum();
            assert!(edges > 20, "seed {seed}: {edges} arcs");
            assert_eq!(p.edge_count(), edges, "{config:?}");
            for v in 0..p.node_count() as u32 {
                let (lo, hi) = (p.out_offsets[v as usize] as usize, p.out_offsets[v as usize + 1] as usize);
                let found: Vec<(u32, f64)> = (lo..hi).map(|i| (p.out_targets[i], p.out_weights.as_ref().map_or(1.0, |w| w[i]))).collect();
                assert_eq!(found, out[v as usize], "out-list of {v}, seed {seed}, {config:?}");
                assert_eq!(p.out_degree(v), out[v as usize].len());
                let (lo, hi) = (p.in_offsets()[v as usize] as usize, p.in_offsets()[v as usize + 1] as usize);
                let found: Vec<(u32, f64)> = (lo..hi).map(|i| (p.in_sources()[i], p.in_weights().map_or(1.0, |w| w[i]))).collect();
                assert_eq!(found, inn[v as usize], "in-list of {v}, seed {seed}, {config:?}");
                assert_eq!(p.in_neighbors(v), inn[v as usize].iter().map(|x| x.0).collect::<Vec<_>>().as_slice());
            }
            assert_eq!(p.out_weights.is_some(), config.weighted);
            assert_eq!(p.in_weights().is_some(), config.weighted);
        }
    }
}
