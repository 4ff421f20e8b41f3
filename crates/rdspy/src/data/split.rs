//! Seeded shuffles and splits.
//!
//! The PRNG is ChaCha8 seeded with `seed_from_u64` (rand_chacha 0.3): its output is specified
//! and portable, so the same seed gives the same order on every machine and release. (Python's
//! `random.Random(seed)` order cannot be reproduced here; DSPy's exact order is not a goal.)

use crate::Example;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The PRNG every seeded operation in rdspy uses.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The seeded PRNG (ChaCha8) that rdspy's optimizers use, for code that wants the same draws.
pub fn rng_for(seed: u64) -> ChaCha8Rng {
    rng(seed)
}

/// A shuffled copy of `examples` (deterministic for a seed).
///
/// ```
/// let xs: Vec<rdspy::Example> = (0..5).map(|i| rdspy::Example::new().with("i", i)).collect();
/// assert_eq!(rdspy::data::shuffle(&xs, 7), rdspy::data::shuffle(&xs, 7));
/// ```
pub fn shuffle(examples: &[Example], seed: u64) -> Vec<Example> {
    let mut out = examples.to_vec();
    out.shuffle(&mut rng(seed));
    out
}

/// Shuffle with `seed`, then split into `(train, dev)` with `dev_size` examples in dev
/// (capped at the number of examples).
pub fn split(examples: &[Example], dev_size: usize, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let mut all = shuffle(examples, seed);
    let dev = all.split_off(all.len() - dev_size.min(all.len()));
    (all, dev)
}

/// `k` examples drawn without replacement (all of them, shuffled, when `k >= len`).
pub fn sample(examples: &[Example], k: usize, seed: u64) -> Vec<Example> {
    let mut out = shuffle(examples, seed);
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_and_partitions() {
        let xs: Vec<Example> = (0..10).map(|i| Example::new().with("i", i)).collect();
        let (a, b) = split(&xs, 3, 1);
        assert_eq!((a.len(), b.len()), (7, 3));
        assert_eq!(split(&xs, 3, 1), (a.clone(), b.clone()));
        let mut ids: Vec<i64> = a.iter().chain(&b).map(|e| e.get("i").unwrap().as_i64().unwrap()).collect();
        ids.sort();
        assert_eq!(ids, (0..10).collect::<Vec<_>>());
        assert_ne!(shuffle(&xs, 1), shuffle(&xs, 2));
        assert_eq!(split(&xs, 50, 0).1.len(), 10);
    }
}
