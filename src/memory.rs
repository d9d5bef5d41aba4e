//! Memory facts for the pre-flight check of `ekg build` and `ekg score`: what the machine (or its
//! cgroup) has available, limits as the user writes them, and the refusal with the numbers.

use anyhow::Result;
use ekg_loaders::estimate::MemoryEstimate;

use crate::exit::{coded, REFUSED, USAGE};

/// Refuses (exit 78) a load whose estimated peak exceeds `limit`, with the numbers, unless forced.
pub fn preflight(estimate: &MemoryEstimate, limit: Option<u64>, force: bool) -> Result<()> {
    if let Some(limit) = limit {
        if estimate.peak_bytes > limit && !force {
            return Err(coded(
                REFUSED,
                format!(
                    "needs ~{}, {} available (n={}, m={}); use --force to try anyway",
                    gib(estimate.peak_bytes),
                    gib(limit),
                    estimate.nodes,
                    estimate.relations
                ),
            ));
        }
    }
    Ok(())
}

pub fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// `8G`, `512M`, `1024K` or plain bytes.
pub fn parse_bytes(text: &str) -> Result<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix('B').unwrap_or(&t).strip_suffix('I').unwrap_or(t.strip_suffix('B').unwrap_or(&t));
    let (number, scale) = match t.chars().last() {
        Some('G') => (&t[..t.len() - 1], 1u64 << 30),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('K') => (&t[..t.len() - 1], 1 << 10),
        _ => (t, 1),
    };
    let value: f64 = number.trim().parse().map_err(|_| coded(USAGE, format!("--memory-limit {text}: expected e.g. 8G or 500M")))?;
    Ok((value * scale as f64) as u64)
}

/// Memory available to this process: MemAvailable, capped by a cgroup v2 limit if set.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)?;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|s| s.trim().parse::<u64>().ok());
    Some(cgroup.map_or(available, |c| c.min(available)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits_parse_with_units() {
        assert_eq!(parse_bytes("8G").ok(), Some(8 << 30));
        assert_eq!(parse_bytes("500M").ok(), Some(500 << 20));
        assert_eq!(parse_bytes("1GiB").ok(), Some(1 << 30));
        assert_eq!(parse_bytes("1234").ok(), Some(1234));
        assert!(parse_bytes("lots").is_err());
    }
}
