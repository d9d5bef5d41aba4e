//! Connected components: weakly (union-find) and strongly (iterative Tarjan).
pub mod scc;
pub mod wcc;

/// Dense component ids ordered by size (largest first), ties by representative; `labels[v]` is any
/// per-node representative (e.g. the minimum local id of the component).
pub fn dense_by_size(labels: &[u32]) -> (Vec<u32>, Vec<u64>) {
    let n = labels.len();
    let mut size = vec![0u64; n];
    for &l in labels {
        size[l as usize] += 1;
    }
    let mut reps: Vec<u32> = (0..n as u32).filter(|&r| size[r as usize] > 0).collect();
    reps.sort_by(|&a, &b| size[b as usize].cmp(&size[a as usize]).then(a.cmp(&b)));
    let mut dense = vec![0u32; n];
    for (i, &r) in reps.iter().enumerate() {
        dense[r as usize] = i as u32;
    }
    let sizes = reps.iter().map(|&r| size[r as usize]).collect();
    (labels.iter().map(|&l| dense[l as usize]).collect(), sizes)
}
