//! GEPA's merge: a crossover of two Pareto candidates that share an ancestor.
//!
//! Two descendants of a common ancestor have each improved some components. For every
//! component where one of them still has the ancestor's text and the other changed it, the
//! merged candidate takes the change; where both changed it, it takes the text of the one with
//! the better aggregate score. The merge is tried on a few validation examples chosen so both
//! parents' strengths are represented, and kept only if it does at least as well as the
//! better parent there.

use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeSet;

/// What the merge step reads from the search state.
pub(crate) struct View<'a> {
    pub candidates: &'a [Vec<String>],
    pub parents: &'a [Vec<usize>],
    pub aggregate: &'a [f64],
    pub val_scores: &'a [Vec<f64>],
}

/// A merge to try: the merged texts, its parents and the validation examples to try it on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MergePlan {
    pub candidate: Vec<String>,
    pub id1: usize,
    pub id2: usize,
    pub ancestor: usize,
    pub subsample: Vec<usize>,
}

/// Merge scheduling and the merges already tried (GEPA's `MergeProposer` counters).
#[derive(Debug, Clone, Default)]
pub(crate) struct Merger {
    /// Merges owed: one per accepted reflective candidate, up to `max`.
    pub due: usize,
    /// Merges accepted so far.
    pub tested: usize,
    pub max: usize,
    /// Set when the previous iteration added a candidate (merges only follow progress).
    pub last_iter_found_new: bool,
    triplets: Vec<(usize, usize, usize)>,
    descriptions: Vec<(usize, usize, Vec<usize>)>,
}

/// Validation examples two candidates need in common before a merge is tried.
const OVERLAP_FLOOR: usize = 5;
/// Examples the merged candidate is tried on.
const SUBSAMPLE: usize = 5;

fn ancestors(parents: &[Vec<usize>], node: usize) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        for &p in &parents[n] {
            if found.insert(p) {
                stack.push(p);
            }
        }
    }
    found
}

/// Some component where the ancestor matches exactly one of the two descendants.
fn desirable(c: &[Vec<String>], anc: usize, a: usize, b: usize) -> bool {
    (0..c[anc].len()).any(|k| (c[anc][k] == c[a][k] || c[anc][k] == c[b][k]) && c[a][k] != c[b][k])
}

impl Merger {
    pub fn new(max: usize) -> Merger {
        Merger { max, ..Default::default() }
    }

    fn common_ancestor_pair(&self, v: &View<'_>, pool: &[usize], rng: &mut impl Rng) -> Option<(usize, usize, usize)> {
        for _ in 0..10 {
            if pool.len() < 2 {
                return None;
            }
            let pick: Vec<usize> = pool.choose_multiple(rng, 2).copied().collect();
            let (i, j) = (pick[0].min(pick[1]), pick[0].max(pick[1]));
            let (ai, aj) = (ancestors(v.parents, i), ancestors(v.parents, j));
            if ai.contains(&j) || aj.contains(&i) {
                continue;
            }
            let common: Vec<usize> = ai
                .intersection(&aj)
                .copied()
                .filter(|&a| !self.triplets.contains(&(i, j, a)))
                .filter(|&a| v.aggregate[a] <= v.aggregate[i] && v.aggregate[a] <= v.aggregate[j])
                .filter(|&a| desirable(v.candidates, a, i, j))
                .collect();
            if common.is_empty() {
                continue;
            }
            let weights: Vec<f64> = common.iter().map(|&a| v.aggregate[a].max(0.0)).collect();
            let total: f64 = weights.iter().sum();
            // GEPA draws the ancestor weighted by score; all-zero weights (Python raises) draw uniformly.
            let ancestor = if total > 0.0 {
                let mut x = rng.gen::<f64>() * total;
                let mut chosen = common[common.len() - 1];
                for (a, w) in common.iter().zip(&weights) {
                    if x < *w {
                        chosen = *a;
                        break;
                    }
                    x -= w;
                }
                chosen
            } else {
                common[rng.gen_range(0..common.len())]
            };
            return Some((i, j, ancestor));
        }
        None
    }

    /// Find two non-dominated candidates with a useful common ancestor and build their merge.
    pub fn plan(&mut self, v: &View<'_>, pool: &[usize], rng: &mut impl Rng) -> Option<MergePlan> {
        if pool.len() < 2 || v.parents.len() < 3 {
            return None;
        }
        for _ in 0..10 {
            let Some((id1, id2, anc)) = self.common_ancestor_pair(v, pool, rng) else { continue };
            if self.triplets.contains(&(id1, id2, anc)) {
                continue;
            }
            let c = v.candidates;
            let mut merged = c[anc].clone();
            let mut desc = Vec::new();
            for k in 0..merged.len() {
                let (a, x, y) = (&c[anc][k], &c[id1][k], &c[id2][k]);
                let from = if (a == x || a == y) && x != y {
                    if a == x {
                        id2
                    } else {
                        id1
                    }
                } else if a != x && a != y {
                    match v.aggregate[id1].total_cmp(&v.aggregate[id2]) {
                        std::cmp::Ordering::Greater => id1,
                        std::cmp::Ordering::Less => id2,
                        std::cmp::Ordering::Equal => *[id1, id2].choose(rng).unwrap_or(&id1),
                    }
                } else {
                    id1
                };
                merged[k] = c[from][k].clone();
                desc.push(from);
            }
            if self.descriptions.contains(&(id1, id2, desc.clone())) {
                continue;
            }
            if v.val_scores[id1].len().min(v.val_scores[id2].len()) < OVERLAP_FLOOR {
                continue;
            }
            self.descriptions.push((id1, id2, desc));
            self.triplets.push((id1, id2, anc));
            let subsample = subsample(&v.val_scores[id1], &v.val_scores[id2], rng);
            return Some(MergePlan { candidate: merged, id1, id2, ancestor: anc, subsample });
        }
        None
    }
}

/// Up to five validation examples: some where the first parent is better, some where the second
/// is, some where they tie, then any others.
fn subsample(s1: &[f64], s2: &[f64], rng: &mut impl Rng) -> Vec<usize> {
    let ids: Vec<usize> = (0..s1.len().min(s2.len())).collect();
    let p1: Vec<usize> = ids.iter().copied().filter(|&i| s1[i] > s2[i]).collect();
    let p2: Vec<usize> = ids.iter().copied().filter(|&i| s2[i] > s1[i]).collect();
    let p3: Vec<usize> = ids.iter().copied().filter(|&i| s1[i] == s2[i]).collect();
    let each = SUBSAMPLE.div_ceil(3).max(1);
    let mut out: Vec<usize> = Vec::new();
    for bucket in [p1, p2, p3] {
        if out.len() >= SUBSAMPLE {
            break;
        }
        let avail: Vec<usize> = bucket.into_iter().filter(|i| !out.contains(i)).collect();
        let take = avail.len().min(each).min(SUBSAMPLE - out.len());
        out.extend(avail.choose_multiple(rng, take).copied());
    }
    let remaining = SUBSAMPLE.saturating_sub(out.len());
    if remaining > 0 {
        let unused: Vec<usize> = ids.iter().copied().filter(|i| !out.contains(i)).collect();
        if unused.len() >= remaining {
            out.extend(unused.choose_multiple(rng, remaining).copied());
        } else if !ids.is_empty() {
            out.extend((0..remaining).map(|_| ids[rng.gen_range(0..ids.len())]));
        }
    }
    out.truncate(SUBSAMPLE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn merges_each_descendants_own_change() {
        // 0 = seed (A, B); 1 changed component 0; 2 changed component 1; both from 0.
        let candidates = vec![vec![s("A"), s("B")], vec![s("A1"), s("B")], vec![s("A"), s("B2")]];
        let parents = vec![vec![], vec![0], vec![0]];
        let aggregate = [0.2, 0.5, 0.6];
        let val_scores = vec![vec![0.0; 6], vec![1.0, 1.0, 0.0, 0.0, 0.0, 1.0], vec![0.0, 0.0, 1.0, 1.0, 0.0, 1.0]];
        let v = View { candidates: &candidates, parents: &parents, aggregate: &aggregate, val_scores: &val_scores };
        let mut m = Merger::new(5);
        let mut rng = crate::data::rng_for(0);
        let plan = m.plan(&v, &[1, 2], &mut rng).expect("a merge of 1 and 2 via 0");
        assert_eq!((plan.id1, plan.id2, plan.ancestor), (1, 2, 0));
        assert_eq!(plan.candidate, vec![s("A1"), s("B2")]);
        assert_eq!(plan.subsample.len(), 5);
        // Both parents' wins are represented.
        assert!(plan.subsample.iter().any(|&i| i < 2) && plan.subsample.iter().any(|&i| i == 2 || i == 3));
        // The same merge is not planned twice.
        assert_eq!(m.plan(&v, &[1, 2], &mut rng), None);
    }
}
