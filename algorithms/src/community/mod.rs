//! Community detection.
pub mod leiden;
pub mod louvain;
pub mod lpa;
mod weighted;

/// The numbering Louvain and Leiden give their communities: dense, largest first, ties by the
/// smallest member. It depends only on the partition, so any labelling of the same partition
/// (a previous night's carried ids, say) numbers the same.
pub fn canonical_numbering(labels: &[u32]) -> Vec<u32> {
    use rayon::prelude::*;
    // Any u32 may be a label (ids carried over many nights, read back from a file): made dense
    // first, so that what is allocated follows the nodes, not the largest label.
    let mut distinct = labels.to_vec();
    distinct.par_sort_unstable();
    distinct.dedup();
    let dense: Vec<u32> = labels
        .par_iter()
        .map(|l| match distinct.binary_search(l) {
            Ok(i) | Err(i) => i as u32,
        })
        .collect();
    crate::components::dense_by_size(&louvain::representatives(&dense)).0
}

#[cfg(test)]
mod tests {
    use super::canonical_numbering;
    use crate::community::leiden::leiden;
    use crate::community::louvain::{louvain, LouvainConfig};
    use crate::Projection;

    /// Cliques of 4, 6, 6 and 3 nodes, interleaved over the ids, each tied to the next by one
    /// edge: communities of different sizes and two of equal size.
    fn cliques() -> Projection {
        let groups: [Vec<u32>; 4] = [vec![3, 9, 12, 17], vec![0, 4, 8, 13, 15, 18], vec![1, 5, 7, 10, 14, 16], vec![2, 6, 11]];
        let mut edges = Vec::new();
        for group in &groups {
            for (i, &a) in group.iter().enumerate() {
                edges.extend(group[i + 1..].iter().map(|&b| (a, b, 1.0)));
            }
        }
        edges.extend([(17, 18, 1.0), (18, 16, 1.0), (16, 11, 1.0)]);
        Projection::from_edges(19, &edges, true, false)
    }

    #[test]
    fn a_relabelled_partition_is_numbered_as_louvain_and_leiden_number_it() {
        let g = cliques();
        for found in [louvain(&g, &LouvainConfig::default()).community, leiden(&g, &LouvainConfig::default()).community] {
            assert_eq!(found.iter().max(), Some(&3), "four communities: {found:?}");
            assert_eq!(canonical_numbering(&found), found);
            // The same partition under other labels: shifted and reversed, with gaps.
            let relabelled: Vec<u32> = found.iter().map(|&c| 40 - 7 * c).collect();
            assert_eq!(canonical_numbering(&relabelled), found);
            let far: Vec<u32> = found.iter().map(|&c| u32::MAX - 3 * c).collect();
            assert_eq!(canonical_numbering(&far), found, "labels near u32::MAX");
        }
        // By size, largest first; the two 6-cliques by their smallest member (0 before 1).
        let expected: Vec<u32> = (0..19u32)
            .map(|v| match v {
                0 | 4 | 8 | 13 | 15 | 18 => 0,
                1 | 5 | 7 | 10 | 14 | 16 => 1,
                3 | 9 | 12 | 17 => 2,
                _ => 3,
            })
            .collect();
        assert_eq!(canonical_numbering(&louvain(&g, &LouvainConfig::default()).community), expected);
    }
}
