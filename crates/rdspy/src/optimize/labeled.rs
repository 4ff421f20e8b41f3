//! `LabeledFewShot`: demos straight from the labeled training set.

use super::{reset_copy, Optimizer, Program};
use crate::data::PyRandom;
use crate::{Example, Result};

/// DSPy's `LabeledFewShot(k=16)`: every predictor gets `k` training examples as demos, drawn
/// with a fixed seed (`sample = true`, DSPy's default) or the first `k` (`sample = false`).
#[derive(Debug, Clone)]
pub struct LabeledFewShot {
    /// How many demos per predictor.
    pub k: usize,
    /// Draw at random (seeded) instead of taking the first `k`.
    pub sample: bool,
    /// The seed of the draw (DSPy uses 0).
    pub seed: u64,
}

impl Default for LabeledFewShot {
    fn default() -> Self {
        LabeledFewShot { k: 16, sample: true, seed: 0 }
    }
}

impl LabeledFewShot {
    /// `k` demos per predictor, sampled with seed 0.
    pub fn new(k: usize) -> Self {
        LabeledFewShot { k, ..Default::default() }
    }

    /// The demos this optimizer would pick from `trainset`.
    pub fn demos(&self, trainset: &[Example]) -> Vec<Example> {
        self.draw(&mut PyRandom::new(self.seed), trainset)
    }

    /// One predictor's demos. Python's `random.Random(seed).sample`, so the same seed picks
    /// DSPy's demos in DSPy's order.
    fn draw(&self, rng: &mut PyRandom, trainset: &[Example]) -> Vec<Example> {
        let n = self.k.min(trainset.len());
        if self.sample {
            rng.sample(trainset, n)
        } else {
            trainset[..n].to_vec()
        }
    }

    /// Set the demos on a copy of `student` (synchronous; `compile` is this).
    pub fn apply<P: Program>(&self, student: &P, trainset: &[Example]) -> P {
        let mut program = reset_copy(student);
        if trainset.is_empty() {
            return program;
        }
        // DSPy draws every predictor's demos from one `random.Random(0)`.
        let mut rng = PyRandom::new(self.seed);
        for (_, pred) in program.named_predictors_mut() {
            pred.demos = self.draw(&mut rng, trainset);
        }
        program
    }
}

#[async_trait::async_trait]
impl Optimizer for LabeledFewShot {
    async fn compile<P: Program>(&self, student: &P, trainset: &[Example], _valset: Option<&[Example]>) -> Result<P> {
        Ok(self.apply(student, trainset))
    }
}
