//! SIMBA's program pool and the small numeric helpers DSPy takes from numpy and Python.

use rand::Rng;

/// Every program SIMBA has built, with the minibatch scores it got when it was registered.
/// Index 0 is the student (the baseline); indices follow registration order, as DSPy's
/// `simba_idx`.
pub(crate) struct Pool<P> {
    programs: Vec<P>,
    scores: Vec<Vec<f64>>,
}

impl<P> Pool<P> {
    pub fn new(baseline: P) -> Pool<P> {
        Pool { programs: vec![baseline], scores: vec![vec![]] }
    }

    pub fn program(&self, idx: usize) -> &P {
        &self.programs[idx]
    }

    pub fn register(&mut self, program: P, scores: Vec<f64>) {
        self.programs.push(program);
        self.scores.push(scores);
    }

    /// Average registered score (0 for the baseline, which has none).
    pub fn average(&self, idx: usize) -> f64 {
        let s = &self.scores[idx];
        if s.is_empty() {
            0.0
        } else {
            s.iter().sum::<f64>() / s.len() as f64
        }
    }

    /// The `k` best programs by average score, with the baseline forced into the last slot
    /// when it is not among them (so the student can always be sampled).
    pub fn top_k_plus_baseline(&self, k: usize) -> Vec<usize> {
        let mut idxs: Vec<usize> = (0..self.programs.len()).collect();
        // Stable sort: equal averages keep registration order, as Python's `sorted`.
        idxs.sort_by(|a, b| self.average(*b).total_cmp(&self.average(*a)));
        let mut top: Vec<usize> = idxs.into_iter().take(k).collect();
        if !top.contains(&0) {
            if let Some(last) = top.last_mut() {
                *last = 0;
            }
        }
        let mut seen = std::collections::HashSet::new();
        top.retain(|i| seen.insert(*i));
        top
    }

    /// Draw one of `idxs` with probability ∝ `exp(average / temperature)`.
    pub fn softmax_sample(&self, rng: &mut impl Rng, idxs: &[usize], temperature: f64) -> usize {
        let weights: Vec<f64> = idxs.iter().map(|&i| (self.average(i) / temperature).exp()).collect();
        let total: f64 = weights.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return idxs[rng.gen_range(0..idxs.len())];
        }
        let mut x = rng.gen::<f64>() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return idxs[i];
            }
            x -= w;
        }
        idxs[idxs.len() - 1]
    }

    /// The program with the best average minibatch score (first on ties).
    pub fn best_by_average(&self) -> usize {
        let mut best = 0;
        for i in 1..self.programs.len() {
            if self.average(i) > self.average(best) {
                best = i;
            }
        }
        best
    }
}

/// numpy's `percentile` with linear interpolation.
pub(crate) fn percentile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// A Poisson draw (Knuth's method; SIMBA's means are small: demos / max_demos).
pub(crate) fn poisson(rng: &mut impl Rng, lambda: f64) -> usize {
    if lambda <= 0.0 {
        return 0;
    }
    let limit = (-lambda).exp();
    let (mut k, mut p) = (0usize, 1.0f64);
    loop {
        p *= rng.gen::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// Python's `round`: halves go to the even neighbour (`round(2.5) == 2`).
pub(crate) fn round_half_even(x: f64) -> usize {
    let r = x.round();
    let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 { r - x.signum() } else { r };
    r.max(0.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_and_python_helpers() {
        // Values from numpy.percentile / Python's round.
        assert_eq!(percentile(&[0.0, 1.0, 1.0, 0.0, 1.0], 10.0), 0.0);
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 90.0) - 3.7).abs() < 1e-12);
        assert!((percentile(&[0.0, 1.0], 10.0) - 0.1).abs() < 1e-12);
        assert_eq!([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(round_half_even), [0, 2, 2, 4, 2, 3]);
        let mut rng = crate::data::rng_for(1);
        let n = 20_000;
        let mean = (0..n).map(|_| poisson(&mut rng, 0.75)).sum::<usize>() as f64 / n as f64;
        assert!((mean - 0.75).abs() < 0.03, "{mean}");
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }

    #[test]
    fn pool_ranks_samples_and_keeps_the_baseline() {
        let mut pool = Pool::new("base");
        pool.register("weak", vec![0.0, 0.0]);
        pool.register("strong", vec![1.0, 1.0]);
        pool.register("mid", vec![1.0, 0.0]);
        assert_eq!(pool.top_k_plus_baseline(2), vec![2, 0]);
        assert_eq!(pool.top_k_plus_baseline(10), vec![2, 3, 0, 1]);
        assert_eq!(pool.best_by_average(), 2);
        // At temperature 0.2 the strong program (avg 1) beats the baseline (avg 0) ~ e^5 : 1.
        let mut rng = crate::data::rng_for(7);
        let picks: Vec<usize> = (0..1000).map(|_| pool.softmax_sample(&mut rng, &[2, 0], 0.2)).collect();
        let strong = picks.iter().filter(|&&i| i == 2).count();
        assert!((980..1000).contains(&strong), "{strong}");
    }
}
