//! A tree-structured Parzen estimator (TPE) over categorical parameters: the search MIPROv2 runs
//! through Optuna's `TPESampler(seed=seed, multivariate=True)`.
//!
//! No maintained Rust crate implements Optuna's multivariate categorical TPE (the `tpe` crate is
//! univariate and unmaintained), so this follows Optuna 4/5's algorithm and defaults:
//!
//! * the first `n_startup_trials = 10` suggestions are uniform at random;
//! * then the finished trials split into the best `γ(n) = min(⌈0.1·n⌉, 25)` ("below") and the
//!   rest ("above"), each kept in trial order;
//! * each group gives a mixture: one kernel per trial plus a uniform prior kernel, with mixture
//!   weights `1` per trial (a ramp from `1/n` for all but the newest 25 when there are more than
//!   25) and `prior_weight = 1`, normalized. A trial's kernel puts `prior_weight / n_kernels` on
//!   every choice and `+1` on its own choice, per parameter, normalized;
//! * *multivariate*: a candidate is drawn by choosing one kernel of the "below" mixture and then
//!   every parameter from that kernel, so parameters that worked together are proposed together;
//!   its density is the mixture of per-kernel products;
//! * `n_ei_candidates = 24` candidates are drawn from "below" and the one with the highest
//!   `log l(x) − log g(x)` is suggested.
//!
//! The direction is *maximize* (scores).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A TPE sampler over categorical parameters (each one a choice among `0..n`).
///
/// ```
/// use rdspy::optimize::Tpe;
/// // Two parameters with 4 and 3 choices; the objective likes choice 2 of the first.
/// let mut tpe = Tpe::new(vec![4, 3], 9);
/// for _ in 0..30 {
///     let x = tpe.suggest();
///     tpe.tell(x.clone(), if x[0] == 2 { 1.0 } else { 0.0 });
/// }
/// let late = tpe.trials()[20..].iter().filter(|(x, _)| x[0] == 2).count();
/// assert!(late >= 5, "TPE concentrates on the good choice ({late}/10)");
/// ```
#[derive(Debug, Clone)]
pub struct Tpe {
    choices: Vec<usize>,
    trials: Vec<(Vec<usize>, f64)>,
    rng: ChaCha8Rng,
    /// Random suggestions before the model is used (Optuna: 10).
    pub n_startup_trials: usize,
    /// Candidates drawn from the "good" density per suggestion (Optuna: 24).
    pub n_ei_candidates: usize,
    /// Weight of the uniform prior kernel (Optuna: 1.0).
    pub prior_weight: f64,
}

/// One side's mixture: normalized kernel weights and per-kernel, per-parameter choice
/// probabilities (`probs[k][p][c]`).
struct Mixture {
    weights: Vec<f64>,
    probs: Vec<Vec<Vec<f64>>>,
}

impl Tpe {
    /// A sampler for parameters with `choices[i]` options each, seeded.
    pub fn new(choices: Vec<usize>, seed: u64) -> Tpe {
        Tpe { choices, trials: Vec::new(), rng: crate::data::rng_for(seed), n_startup_trials: 10, n_ei_candidates: 24, prior_weight: 1.0 }
    }

    /// Record a finished trial (also trials the sampler did not suggest, as MIPROv2 adds the
    /// default program and full evaluations).
    pub fn tell(&mut self, params: Vec<usize>, value: f64) {
        self.trials.push((params, value));
    }

    /// Every recorded trial, in order.
    pub fn trials(&self) -> &[(Vec<usize>, f64)] {
        &self.trials
    }

    /// The next parameters to try.
    pub fn suggest(&mut self) -> Vec<usize> {
        if self.trials.len() < self.n_startup_trials {
            let choices = self.choices.clone();
            return choices.iter().map(|&n| self.rng.gen_range(0..n.max(1))).collect();
        }
        let n_below = (self.trials.len() as f64 * 0.1).ceil().min(25.0) as usize;
        let mut order: Vec<usize> = (0..self.trials.len()).collect();
        // Best first; a stable sort keeps earlier trials first among equal values (as Python's sorted).
        order.sort_by(|&a, &b| self.trials[b].1.total_cmp(&self.trials[a].1));
        let (mut below, mut above) = (order[..n_below].to_vec(), order[n_below..].to_vec());
        below.sort_unstable();
        above.sort_unstable();
        let (l, g) = (self.mixture(&below), self.mixture(&above));
        let mut best: Option<(f64, Vec<usize>)> = None;
        for _ in 0..self.n_ei_candidates {
            let x = self.draw(&l);
            let acq = log_pdf(&l, &x) - log_pdf(&g, &x);
            if best.as_ref().is_none_or(|(b, _)| acq > *b) {
                best = Some((acq, x));
            }
        }
        best.map(|(_, x)| x).unwrap_or_else(|| vec![0; self.choices.len()])
    }

    fn mixture(&self, idx: &[usize]) -> Mixture {
        let n = idx.len();
        if n == 0 {
            let uniform = self.choices.iter().map(|&c| vec![1.0 / c.max(1) as f64; c.max(1)]).collect();
            return Mixture { weights: vec![1.0], probs: vec![uniform] };
        }
        let mut weights = default_weights(n);
        weights.push(self.prior_weight);
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let n_kernels = n + 1;
        let mut probs = Vec::with_capacity(n_kernels);
        for k in 0..n_kernels {
            let per_param = self
                .choices
                .iter()
                .enumerate()
                .map(|(p, &c)| {
                    let mut row = vec![self.prior_weight / n_kernels as f64; c.max(1)];
                    if let Some(&t) = idx.get(k) {
                        row[self.trials[t].0[p].min(c.max(1) - 1)] += 1.0;
                    }
                    let s: f64 = row.iter().sum();
                    row.iter_mut().for_each(|x| *x /= if s == 0.0 { 1.0 } else { s });
                    row
                })
                .collect();
            probs.push(per_param);
        }
        Mixture { weights, probs }
    }

    fn draw(&mut self, m: &Mixture) -> Vec<usize> {
        let k = pick(&m.weights, self.rng.gen::<f64>());
        m.probs[k].iter().map(|row| pick(row, self.rng.gen::<f64>())).collect()
    }
}

/// Optuna's `default_weights`: all ones up to 25, then a ramp for the older trials.
fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| if ramp == 1 { 1.0 / n as f64 } else { 1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64 })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// The index whose cumulative probability first reaches `u`.
fn pick(probs: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len().saturating_sub(1)
}

/// `log Σ_k w_k Π_p probs[k][p][x_p]`, computed with log-sum-exp.
fn log_pdf(m: &Mixture, x: &[usize]) -> f64 {
    let terms: Vec<f64> = m
        .weights
        .iter()
        .zip(&m.probs)
        .map(|(w, kernel)| w.ln() + kernel.iter().zip(x).map(|(row, &c)| row.get(c).copied().unwrap_or(0.0).ln()).sum::<f64>())
        .collect();
    let max = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic MIPRO-like objective: 3 categorical parameters (instruction, demo set,
    /// another predictor's instruction), each choice with a hidden quality; the score is their
    /// sum plus an interaction bonus when the two best choices meet, plus seeded noise.
    fn objective(x: &[usize], noise: f64) -> f64 {
        let q =
            [[0.1, 0.3, 0.2, 0.9, 0.4, 0.0, 0.2, 0.3], [0.5, 0.1, 0.0, 0.2, 0.3, 0.8, 0.1, 0.2], [0.2, 0.2, 0.7, 0.1, 0.0, 0.3, 0.1, 0.4]];
        let bonus = if x[0] == 3 && x[1] == 5 { 0.5 } else { 0.0 };
        x.iter().enumerate().map(|(p, &c)| q[p][c]).sum::<f64>() + bonus + noise
    }

    fn run(seed: u64, use_tpe: bool) -> (f64, f64) {
        let mut tpe = Tpe::new(vec![8, 8, 8], seed);
        if !use_tpe {
            tpe.n_startup_trials = usize::MAX;
        }
        let mut noise = crate::data::rng_for(seed ^ 0xabcd);
        let mut late = Vec::new();
        for t in 0..40 {
            let x = tpe.suggest();
            let v = objective(&x, noise.gen_range(-0.1..0.1));
            if t >= 10 {
                late.push(objective(&x, 0.0));
            }
            tpe.tell(x, v);
        }
        let best = tpe.trials().iter().map(|(x, _)| objective(x, 0.0)).fold(f64::MIN, f64::max);
        (late.iter().sum::<f64>() / late.len() as f64, best)
    }

    #[test]
    fn tpe_beats_random_search_on_a_synthetic_objective() {
        let seeds = 0..30u64;
        let (mut tpe_mean, mut rnd_mean, mut tpe_best, mut rnd_best) = (0.0, 0.0, 0.0, 0.0);
        for s in seeds.clone() {
            let (m, b) = run(s, true);
            tpe_mean += m;
            tpe_best += b;
            let (m, b) = run(s, false);
            rnd_mean += m;
            rnd_best += b;
        }
        let n = seeds.count() as f64;
        let (tpe_mean, rnd_mean, tpe_best, rnd_best) = (tpe_mean / n, rnd_mean / n, tpe_best / n, rnd_best / n);
        // After the 10 random start-up trials, TPE proposes clearly better regions...
        assert!(tpe_mean > rnd_mean + 0.3, "mean quality of trials 11-40: TPE {tpe_mean:.3} vs random {rnd_mean:.3}");
        // ...and finds better optima within the same 40 trials.
        assert!(tpe_best > rnd_best, "best found: TPE {tpe_best:.3} vs random {rnd_best:.3}");
    }

    #[test]
    fn kernels_follow_optuna() {
        let mut tpe = Tpe::new(vec![3], 0);
        tpe.tell(vec![1], 1.0);
        let m = tpe.mixture(&[0]);
        // Two kernels (trial + prior), weights 1/2 each; the trial's row is (1/2·[1,1,1] + e_1) normalized.
        assert_eq!(m.weights, vec![0.5, 0.5]);
        let row = &m.probs[0][0];
        assert!((row[1] - 1.5 / 2.5).abs() < 1e-12 && (row[0] - 0.5 / 2.5).abs() < 1e-12, "{row:?}");
        assert!(m.probs[1][0].iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-12));
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(27);
        assert_eq!((w.len(), w[0], w[1], w[2]), (27, 1.0 / 27.0, 1.0, 1.0));
    }
}
