//! The Pareto frontier over per-example validation scores, and GEPA's candidate selection.
//!
//! A candidate that is best on even one validation example is worth improving: it knows
//! something the others do not. So GEPA keeps, per validation example, the best score seen
//! and *every* candidate that reached it. To pick a parent it first drops candidates that are
//! dominated (every example they are best on also has another, surviving winner), then draws
//! from the rest with probability proportional to how many examples each is best on.

use rand::Rng;
use std::collections::BTreeSet;

/// The per-example frontier: the best score and the candidates that reached it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParetoFront {
    /// Best score per validation example.
    pub best: Vec<f64>,
    /// Candidates reaching `best`, per validation example.
    pub winners: Vec<BTreeSet<usize>>,
}

impl ParetoFront {
    /// A frontier with one candidate (index 0) scored on every example.
    ///
    /// ```
    /// use rdspy::optimize::gepa::ParetoFront;
    /// let mut front = ParetoFront::new(&[1.0, 0.0, 0.0]);
    /// front.update(1, &[0.0, 1.0, 0.0]); // best on example 1 only
    /// front.update(2, &[1.0, 0.0, 0.0]); // ties candidate 0 on example 0
    /// assert_eq!(front.winners[0].iter().copied().collect::<Vec<_>>(), [0, 2]);
    /// assert_eq!(front.winners[1].iter().copied().collect::<Vec<_>>(), [1]);
    /// assert_eq!(front.winners[2].iter().copied().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn new(seed_scores: &[f64]) -> ParetoFront {
        ParetoFront { best: seed_scores.to_vec(), winners: seed_scores.iter().map(|_| BTreeSet::from([0])).collect() }
    }

    /// Add candidate `idx` with its per-example scores: a better score replaces the winners, an
    /// equal one joins them.
    pub fn update(&mut self, idx: usize, scores: &[f64]) {
        for (i, &s) in scores.iter().enumerate() {
            if s > self.best[i] {
                self.best[i] = s;
                self.winners[i] = BTreeSet::from([idx]);
            } else if s == self.best[i] {
                self.winners[i].insert(idx);
            }
        }
    }

    /// The frontier with dominated candidates removed (GEPA's `remove_dominated_programs`).
    /// Candidates are tried from the lowest aggregate score up; one is dominated when every
    /// example it wins also has another surviving winner.
    pub fn without_dominated(&self, aggregate: &[f64]) -> Vec<BTreeSet<usize>> {
        let mut programs: Vec<usize> = Vec::new();
        for w in &self.winners {
            for &p in w {
                if !programs.contains(&p) {
                    programs.push(p);
                }
            }
        }
        programs.sort_by(|a, b| aggregate[*a].total_cmp(&aggregate[*b]));
        let mut dominated: BTreeSet<usize> = BTreeSet::new();
        loop {
            let found = programs.iter().copied().find(|&y| {
                !dominated.contains(&y)
                    && self.winners.iter().filter(|w| w.contains(&y)).all(|w| w.iter().any(|&o| o != y && !dominated.contains(&o)))
            });
            match found {
                Some(y) => {
                    dominated.insert(y);
                }
                None => break,
            }
        }
        self.winners.iter().map(|w| w.iter().copied().filter(|p| !dominated.contains(p)).collect()).collect()
    }

    /// The candidates left after removing dominated ones (GEPA's `find_dominator_programs`).
    pub fn dominators(&self, aggregate: &[f64]) -> Vec<usize> {
        let mut out: BTreeSet<usize> = BTreeSet::new();
        for w in self.without_dominated(aggregate) {
            out.extend(w);
        }
        out.into_iter().collect()
    }

    /// Draw a parent: each non-dominated candidate weighted by how many examples it wins.
    pub fn select(&self, aggregate: &[f64], rng: &mut impl Rng) -> usize {
        let mut list: Vec<usize> = Vec::new();
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for w in self.without_dominated(aggregate) {
            for p in w {
                match counts.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((p, 1)),
                }
            }
        }
        for (p, c) in counts {
            list.extend(std::iter::repeat_n(p, c));
        }
        if list.is_empty() {
            return argmax_first(aggregate);
        }
        list[rng.gen_range(0..list.len())]
    }
}

/// The first index of the maximum.
pub(crate) fn argmax_first(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        if *x > xs[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominated_candidates_are_removed_and_winners_kept() {
        // Candidate 0 wins examples 0 and 2 (tied with 2 on example 2); 1 wins example 1;
        // 2 wins only example 2, tied with 0, and has a lower aggregate: it is dominated.
        let mut f = ParetoFront::new(&[1.0, 0.0, 1.0]);
        f.update(1, &[0.0, 1.0, 0.0]);
        f.update(2, &[0.0, 0.0, 1.0]);
        let agg = [2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
        let pruned = f.without_dominated(&agg);
        assert_eq!(pruned, vec![BTreeSet::from([0]), BTreeSet::from([1]), BTreeSet::from([0])]);
        assert_eq!(f.dominators(&agg), vec![0, 1]);
        let mut rng = crate::data::rng_for(3);
        let picks: Vec<usize> = (0..300).map(|_| f.select(&agg, &mut rng)).collect();
        let zeros = picks.iter().filter(|&&p| p == 0).count();
        assert!(!picks.contains(&2));
        // 0 wins two examples, 1 wins one: about 2/3 of the draws.
        assert!((170..230).contains(&zeros), "{zeros}");
    }
}
