//! Night-to-night continuity of labels (communities, group customers): each of tonight's labels
//! takes the id of last night's label it shares most members with, so that an analyst can follow
//! a community from one night to the next although the algorithm numbers them afresh.
//!
//! The matching is greedy on member overlap: pairs (tonight, last night) in decreasing overlap,
//! ties to the smaller previous id, then the smaller current label; a pair is taken when neither
//! side is taken yet. Greedy is the maximum-weight matching whenever every label's largest overlap
//! is mutual, the case night to night (a label whose members did not change always keeps its id:
//! its overlap with its previous self is its whole size and no other pair touches either side),
//! and at worst half of it; an exact assignment (Hungarian, O(k³)) is out of reach for millions of
//! labels. Labels left unmatched take fresh ids above every previous id, in their current order.

use rayon::prelude::*;

/// Absent: the element was not there last night (or had no label).
pub const NO_LABEL: u32 = u32::MAX;

/// How tonight's labels map onto last night's ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried {
    /// Per current label: its id from now on (a previous id, or a fresh one).
    pub id: Vec<u32>,
    /// Per current label: the previous id it took and the members both share, `None` when new.
    pub matched: Vec<Option<(u32, u32)>>,
    /// Previous ids no current label took, ascending.
    pub gone: Vec<u32>,
}

/// `current[e]`: element `e`'s label tonight (dense, `< current_count`); `previous[e]`: its id last
/// night or [`NO_LABEL`]. `previous_ids`: every id last night had, including those of elements
/// gone since, ascending and distinct.
pub fn carry_labels(current: &[u32], previous: &[u32], current_count: usize, previous_ids: &[u32]) -> Carried {
    assert_eq!(current.len(), previous.len(), "one previous label per element");
    let mut pairs: Vec<(u32, u32)> =
        current.par_iter().zip(previous.par_iter()).filter(|(_, &p)| p != NO_LABEL).map(|(&c, &p)| (c, p)).collect();
    pairs.par_sort_unstable();
    // (overlap, current, previous), largest overlap first.
    let mut overlaps: Vec<(u32, u32, u32)> = pairs.chunk_by(|a, b| a == b).map(|run| (run.len() as u32, run[0].0, run[0].1)).collect();
    overlaps.par_sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)).then(a.1.cmp(&b.1)));
    let mut matched: Vec<Option<(u32, u32)>> = vec![None; current_count];
    let mut taken: std::collections::HashSet<u32> = std::collections::HashSet::new();
    for (overlap, c, p) in overlaps {
        if matched[c as usize].is_none() && !taken.contains(&p) {
            matched[c as usize] = Some((p, overlap));
            taken.insert(p);
        }
    }
    let mut next = previous_ids.iter().max().map_or(0, |&m| m + 1);
    let id = matched
        .iter()
        .map(|m| match m {
            Some((p, _)) => *p,
            None => {
                next += 1;
                next - 1
            }
        })
        .collect();
    let gone = previous_ids.iter().copied().filter(|p| !taken.contains(p)).collect();
    Carried { id, matched, gone }
}

/// Jaccard similarity of two ascending, distinct lists.
pub fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let shared = shared_count(a, b);
    let union = a.len() + b.len() - shared;
    if union == 0 {
        1.0
    } else {
        shared as f64 / union as f64
    }
}

/// Members two ascending, distinct lists share.
pub fn shared_count<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_labels_keep_their_ids_and_new_ones_start_above_the_old() {
        // Last night: {0,1,2} was 7, {3,4} was 2, {5} was 9. Tonight the algorithm numbers
        // {3,4} as 0, {0,1,2} as 1, and 5 left while 6 arrived alone as label 2.
        let previous = [7, 7, 7, 2, 2, NO_LABEL, NO_LABEL];
        let current = [1, 1, 1, 0, 0, 2, 2];
        let carried = carry_labels(&current, &previous, 3, &[2, 7, 9]);
        assert_eq!(carried.id, vec![2, 7, 10]);
        assert_eq!(carried.matched, vec![Some((2, 2)), Some((7, 3)), None]);
        assert_eq!(carried.gone, vec![9]);
    }

    #[test]
    fn a_split_keeps_the_id_with_the_larger_part_and_ties_go_to_the_smaller_previous_id() {
        // 5 was {0,1,2,3}: tonight {0,1,2} (label 0) and {3} (label 1).
        let carried = carry_labels(&[0, 0, 0, 1], &[5, 5, 5, 5], 2, &[5]);
        assert_eq!(carried.id, vec![5, 6]);
        // Two previous labels overlap tonight's one label equally: the smaller id wins.
        let carried = carry_labels(&[0, 0], &[4, 3], 1, &[3, 4]);
        assert_eq!(carried.id, vec![3]);
        assert_eq!(carried.gone, vec![4]);
    }

    #[test]
    fn a_merge_is_matched_to_the_largest_overlap_not_to_the_first_seen() {
        // Near-miss: label 0 meets previous 1 once and previous 0 twice.
        let carried = carry_labels(&[0, 0, 0], &[1, 0, 0], 1, &[0, 1]);
        assert_eq!(carried.id, vec![0]);
        assert_eq!(carried.gone, vec![1]);
    }

    #[test]
    fn jaccard_of_sorted_lists() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard::<u32>(&[], &[]), 1.0);
        assert_eq!(shared_count(&["a", "b"], &["b", "c"]), 1);
    }
}
