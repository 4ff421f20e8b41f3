//! Python's `random.Random`, bit for bit, for the draws DSPy's optimizers make.
//!
//! DSPy picks demos with `random.Random(0).sample(...)` and `.shuffle(...)` (LabeledFewShot,
//! BootstrapFewShot). With any other generator the same seed picks other demos in another
//! order, so a program compiled here would differ from the one Python DSPy compiles from the
//! same data, and so would its score. This is CPython's Mersenne Twister (MT19937, seeded from
//! an integer as `random.seed(int)` does) and the three algorithms on top of it that DSPy uses:
//! `_randbelow` (rejection sampling on `getrandbits`), `shuffle` and `sample`.

/// Python's `random.Random(seed)` for a non-negative integer seed.
///
/// ```
/// use rdspy::data::PyRandom;
/// // Python: random.Random(0).sample(range(3), 3) == [1, 2, 0]
/// assert_eq!(PyRandom::new(0).sample(&[0, 1, 2], 3), vec![1, 2, 0]);
/// ```
#[derive(Clone)]
pub struct PyRandom {
    mt: Box<[u32; N]>,
    index: usize,
}

const N: usize = 624;
const M: usize = 397;

impl PyRandom {
    /// Seeded as `random.Random(seed)` (CPython's `init_by_array` over the seed's 32-bit words).
    pub fn new(seed: u64) -> PyRandom {
        let key: Vec<u32> = if seed >> 32 == 0 { vec![seed as u32] } else { vec![seed as u32, (seed >> 32) as u32] };
        let mut r = PyRandom { mt: Box::new([0; N]), index: N };
        r.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
            r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_664_525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                r.mt[0] = r.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
            r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                r.mt[0] = r.mt[N - 1];
                i = 1;
            }
        }
        r.mt[0] = 0x8000_0000;
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1] ^ (self.mt[i - 1] >> 30);
            self.mt[i] = 1_812_433_253u32.wrapping_mul(prev).wrapping_add(i as u32);
        }
        self.index = N;
    }

    /// The next 32 random bits (`getrandbits(32)`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k <= 32`.
    fn getrandbits(&mut self, k: u32) -> u32 {
        if k == 0 {
            0
        } else {
            self.next_u32() >> (32 - k)
        }
    }

    /// `_randbelow(n)`: uniform in `0..n`, by rejection on `n.bit_length()` bits. `n` must be
    /// positive and below 2^32.
    pub fn randbelow(&mut self, n: usize) -> usize {
        assert!(n > 0 && n <= u32::MAX as usize, "randbelow({n}): n must be in 1..=u32::MAX");
        let k = usize::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `randint(a, b)`: uniform in `a..=b`.
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        a + self.randbelow((b - a + 1) as usize) as i64
    }

    /// `shuffle(x)` in place.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.randbelow(i + 1);
            x.swap(i, j);
        }
    }

    /// `sample(population, k)`: `k` distinct elements, in selection order. Panics when `k`
    /// exceeds the population, as Python raises.
    pub fn sample<T: Clone>(&mut self, population: &[T], k: usize) -> Vec<T> {
        let n = population.len();
        assert!(k <= n, "sample larger than population ({k} > {n})");
        // CPython picks the algorithm by size: a shrinking pool for small populations, else a
        // set of chosen indices with retries. Both must be mirrored to draw the same numbers.
        let mut setsize = 21usize;
        if k > 5 {
            setsize += 4usize.pow(((k * 3) as f64).log(4.0).ceil() as u32);
        }
        if n <= setsize {
            let mut pool: Vec<usize> = (0..n).collect();
            (0..k)
                .map(|i| {
                    let j = self.randbelow(n - i);
                    let picked = pool[j];
                    pool[j] = pool[n - i - 1];
                    population[picked].clone()
                })
                .collect()
        } else {
            let mut selected = std::collections::HashSet::new();
            (0..k)
                .map(|_| {
                    let mut j = self.randbelow(n);
                    while !selected.insert(j) {
                        j = self.randbelow(n);
                    }
                    population[j].clone()
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PyRandom;

    // Expected values printed by CPython 3.11's `random` module.
    #[test]
    fn matches_cpython() {
        let mut r = PyRandom::new(0);
        assert_eq!([r.next_u32(), r.next_u32(), r.next_u32()], [3626764237, 1654615998, 3255389356]);
        let mut x: Vec<usize> = (0..10).collect();
        PyRandom::new(0).shuffle(&mut x);
        assert_eq!(x, [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
        let pop: Vec<usize> = (0..260).collect();
        assert_eq!(PyRandom::new(0).sample(&pop, 16), [197, 215, 20, 132, 248, 207, 155, 244, 183, 111, 258, 71, 144, 48, 128, 75]);
        assert_eq!(PyRandom::new(0).sample(&pop[..30], 7), [27, 12, 24, 13, 1, 8, 16]);
        let mut r = PyRandom::new(7);
        assert_eq!(r.sample(&pop[..100], 20), [41, 19, 50, 83, 6, 9, 68, 12, 46, 74, 7, 64, 27, 4, 11, 55, 53, 8, 30, 70]);
        assert_eq!(r.randint(1, 16), 14);
        let mut r = PyRandom::new((1 << 40) + 5);
        assert_eq!([r.next_u32(), r.next_u32()], [2166296868, 2220160828]);
    }
}
