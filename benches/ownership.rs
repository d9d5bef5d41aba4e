//! Ownership penetration at national scale on a generated holding network (no peer tool computes
//! integrated ownership and control chains, so this reports absolute times and memory only).
//!
//! Usage: cargo bench --bench ownership -- [FIRMS]   (default 10,000,000)
//! Shape, like the generator's: every firm has 1–3 person holders; one firm in six sits in an
//! ownership pyramid (a person holds 60–95% of the top, each child 51–90% held by its parent, up
//! to 10 firms, three levels); 30% of pyramids have a bottom firm holding 5% of the top
//! (cross-holding cycle). Prints one JSON object.

use std::time::Instant;

use ekg_algorithms::hash::unit;
use ekg_algorithms::ownership::{ownership, HoldingNetwork, OwnershipConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let firms: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let started = Instant::now();
    let mut draw = 0u64;
    let mut next = || {
        draw += 1;
        unit(42, 0, 0, draw)
    };
    let person = |k: u64| firms + (k % (firms as u64 * 2)) as u32;
    let mut edges: Vec<(u32, u32, f64)> = Vec::with_capacity(firms as usize * 2);
    let mut f = 0u32;
    while f < firms {
        // One pyramid start per ~42 firms puts about one firm in six in a pyramid.
        if next() < 1.0 / 42.0 && f + 10 < firms {
            // A pyramid of 4–10 firms starting at f.
            let size = 4 + (next() * 7.0) as u32;
            let top = f;
            edges.push((person(f as u64), top, 0.6 + next() * 0.3));
            let mut parents = vec![top];
            let mut placed = 1;
            let mut last_level = vec![top];
            while placed < size {
                let mut level = Vec::new();
                for &parent in &parents {
                    for _ in 0..1 + (next() * 3.0) as u32 {
                        if placed >= size {
                            break;
                        }
                        let child = top + placed;
                        placed += 1;
                        let share = 0.51 + next() * 0.39;
                        edges.push((parent, child, share));
                        edges.push((person(child as u64 + 7), child, (1.0 - share) * 0.9));
                        level.push(child);
                    }
                }
                if level.is_empty() {
                    break;
                }
                last_level = level.clone();
                parents = level;
            }
            if next() < 0.3 {
                if let Some(&bottom) = last_level.last() {
                    edges.push((bottom, top, 0.05));
                }
            }
            f += placed;
        } else {
            let holders = 1 + (next() * 3.0) as u32;
            let mut left = 1.0;
            for h in 0..holders {
                let share = if h + 1 == holders { left } else { left * (0.3 + next() * 0.5) };
                left -= share;
                edges.push((person(f as u64 * 3 + h as u64), f, share.max(0.01)));
            }
            f += 1;
        }
    }
    let generated = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let net = HoldingNetwork::from_edges(firms, &edges);
    drop(edges);
    let indexed = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let result = ownership(&net, &OwnershipConfig::default());
    let seconds = started.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "firms": firms,
        "holdings": net.holders.len(),
        "threads": rayon::current_num_threads(),
        "generate_seconds": generated,
        "index_seconds": indexed,
        "ownership_seconds": seconds,
        "ubo_rows": result.ubos.firm.len(),
        "controlled": result.controller.iter().filter(|&&c| c != u32::MAX).count(),
        "closed_cycles": result.closed_cycles.len(),
        "max_pushes": result.max_pushes,
        "peak_rss_kb": peak_rss_kb(),
    });
    println!("{out}");
}

/// VmHWM from /proc (Linux); 0 elsewhere.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}
