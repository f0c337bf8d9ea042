//! Lifetime value: the BG/NBD model of how often customers buy and when they stop (Fader,
//! Hardie & Lee, "Counting your customers the easy way", 2005) and the Gamma-Gamma model of
//! how much they spend per purchase (Fader, Hardie & Lee, "RFM and CLV", 2005). Pure: the
//! likelihoods, their maximum-likelihood fits (Nelder-Mead on the logarithms of the parameters,
//! so they stay positive) and each customer's predictions.
//!
//! Data per customer: `x` repeat purchases, `t_x` the time of the last one and `T` the time
//! since the first one, in weeks. Validated in `clv_tests.rs` against the published CDNOW fit
//! and on customers simulated from known parameters.

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use serde::{Deserialize, Serialize};
use statrs::function::beta::ln_beta;
use statrs::function::gamma::ln_gamma;
use ts_rs::TS;

/// One customer's purchase history as the BG/NBD model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    /// Repeat purchases (purchases after the first).
    pub x: f64,
    /// Time of the last purchase since the first one (weeks).
    pub t_x: f64,
    /// Time since the first purchase (weeks).
    pub t: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// The log-likelihood of one customer's history under BG/NBD (the paper's equation 6).
pub fn bgnbd_ll(m: &BgNbd, h: &History) -> f64 {
    let BgNbd { r, alpha, a, b } = *m;
    let rx = r + h.x;
    let common = ln_gamma(rx) - ln_gamma(r) + r * alpha.ln();
    let lbab = ln_beta(a, b);
    let a1 = ln_beta(a, b + h.x) - lbab - rx * (alpha + h.t).ln();
    if h.x > 0.0 {
        let a2 = ln_beta(a + 1.0, b + h.x - 1.0) - lbab - rx * (alpha + h.t_x).ln();
        common + log_add(a1, a2)
    } else {
        common + a1
    }
}

/// ln(e^u + e^v) without overflow.
fn log_add(u: f64, v: f64) -> f64 {
    let hi = u.max(v);
    hi + ((u - hi).exp() + (v - hi).exp()).ln()
}

/// Histories grouped by their number of repeat purchases, so the gamma and beta functions,
/// which depend on `x` only, are computed once per group.
#[derive(Debug, Clone, Default)]
pub struct Histories {
    groups: Vec<(f64, Vec<Member>)>,
}

/// `(t_x, T, how many customers)` of one history within a group.
type Member = (f64, f64, f64);

impl Histories {
    /// From `(history, how many customers share it)`.
    pub fn new(items: impl IntoIterator<Item = (History, f64)>) -> Histories {
        let mut by_x: std::collections::BTreeMap<u64, Vec<Member>> = Default::default();
        for (h, n) in items {
            by_x.entry(h.x.to_bits()).or_default().push((h.t_x, h.t, n));
        }
        Histories { groups: by_x.into_iter().map(|(x, v)| (f64::from_bits(x), v)).collect() }
    }
    pub fn customers(&self) -> f64 {
        self.groups.iter().flat_map(|(_, v)| v.iter().map(|(_, _, n)| n)).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// The summed log-likelihood of many customers; the same as adding up `bgnbd_ll`.
pub fn bgnbd_total_ll(m: &BgNbd, data: &Histories) -> f64 {
    let BgNbd { r, alpha, a, b } = *m;
    let lbab = ln_beta(a, b);
    let mut total = 0.0;
    for (x, items) in &data.groups {
        let rx = r + x;
        let common = ln_gamma(rx) - ln_gamma(r) + r * alpha.ln();
        let b1 = ln_beta(a, b + x) - lbab;
        let b2 = if *x > 0.0 { ln_beta(a + 1.0, b + x - 1.0) - lbab } else { 0.0 };
        for (t_x, t, n) in items {
            let a1 = b1 - rx * (alpha + t).ln();
            let ll = if *x > 0.0 { log_add(a1, b2 - rx * (alpha + t_x).ln()) } else { a1 };
            total += n * (common + ll);
        }
    }
    total
}

/// The log-likelihood of one customer's average spend `mean` over `x` purchases under
/// Gamma-Gamma.
pub fn gamma_gamma_ll(m: &GammaGamma, x: f64, mean: f64) -> f64 {
    let GammaGamma { p, q, gamma } = *m;
    ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * gamma.ln() + (p * x - 1.0) * mean.ln() + (p * x) * x.ln()
        - (p * x + q) * (x * mean + gamma).ln()
}

/// Rule: the probability that a customer is still a customer (has not silently left).
pub fn p_alive(m: &BgNbd, h: &History) -> f64 {
    if h.x <= 0.0 {
        return 1.0;
    }
    let ratio = ((m.alpha + h.t) / (m.alpha + h.t_x)).ln() * (m.r + h.x);
    1.0 / (1.0 + m.a / (m.b + h.x - 1.0) * ratio.exp())
}

/// Gauss's hypergeometric series 2F1(a, b; c; z) for |z| < 1.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..100_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

/// Rule: the expected number of purchases in the next `t` weeks (the paper's equation 10,
/// with Euler's transformation of the hypergeometric function so the series stays small).
pub fn expected_purchases(m: &BgNbd, h: &History, t: f64) -> f64 {
    let BgNbd { r, alpha, b, .. } = *m;
    // a = 1 makes both the numerator and the denominator vanish; the limit is continuous.
    let a = if (m.a - 1.0).abs() < 1e-7 { 1.0 + 1e-7 } else { m.a };
    let z = t / (alpha + h.t + t);
    let p = (alpha + h.t) / (alpha + h.t + t);
    let f = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + h.x - 1.0, z);
    let bracket = 1.0 - p.powf(a - 1.0) * f;
    let lead = (a + b + h.x - 1.0) / (a - 1.0);
    let alive_term =
        if h.x > 0.0 { a / (b + h.x - 1.0) * (((alpha + h.t) / (alpha + h.t_x)).ln() * (r + h.x)).exp() } else { 0.0 };
    (lead * bracket / (1.0 + alive_term)).max(0.0)
}

/// Rule: the expected average spend per purchase of a customer whose `x` purchases averaged
/// `mean` (the population's average when they have none).
pub fn expected_spend(m: &GammaGamma, x: f64, mean: f64) -> f64 {
    let GammaGamma { p, q, gamma } = *m;
    if x <= 0.0 {
        return p * gamma / (q - 1.0);
    }
    (gamma + x * mean) * p / (p * x + q - 1.0)
}

/// Rule: the purchases in the next `t` weeks that a customer stays under with probability
/// `level` (0–1): none if they have left (probability 1 − P(alive)); if not, a negative binomial
/// from their posterior buying rate (leaving during the `t` weeks is not counted, so the upper
/// end is generous).
pub fn purchases_quantile(m: &BgNbd, h: &History, t: f64, level: f64) -> f64 {
    let alive = p_alive(m, h);
    let dead = 1.0 - alive;
    if level <= dead {
        return 0.0;
    }
    let target = (level - dead) / alive;
    let shape = m.r + h.x;
    let q = (m.alpha + h.t) / (m.alpha + h.t + t);
    let mut pk = (shape * q.ln()).exp();
    let mut cdf = pk;
    let mut k = 0.0;
    while cdf < target && k < 10_000.0 {
        pk *= (shape + k) / (k + 1.0) * (1.0 - q);
        k += 1.0;
        cdf += pk;
    }
    k
}

struct Nll<F: Fn(&[f64]) -> f64>(F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Nll<F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, ArgminError> {
        let v = (self.0)(p);
        Ok(if v.is_finite() { v } else { f64::MAX / 4.0 })
    }
}

/// Minimise `f` over the logarithms of positive parameters from `start`, restarting once from
/// the best point (Nelder-Mead can stall on a flat ridge).
fn minimise(f: impl Fn(&[f64]) -> f64, start: &[f64]) -> Option<(Vec<f64>, f64)> {
    let log_f = |lp: &[f64]| {
        let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
        f(&p)
    };
    let mut best: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let mut cost = f64::INFINITY;
    for step in [0.5, 0.1] {
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut v = best.clone();
            v[i] += step;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex).with_sd_tolerance(1e-10).ok()?;
        let res = Executor::new(Nll(log_f), solver).configure(|s| s.max_iters(4000)).run().ok()?;
        let state = res.state();
        best = state.get_best_param()?.clone();
        cost = state.get_best_cost();
    }
    Some((best.iter().map(|v| v.exp()).collect(), cost))
}

/// A fitted model and its log-likelihood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit<M> {
    pub model: M,
    pub log_likelihood: f64,
}

/// Maximum-likelihood BG/NBD parameters for `data` (histories with their counts).
pub fn fit_bgnbd(data: &Histories) -> Option<Fit<BgNbd>> {
    if data.is_empty() {
        return None;
    }
    let nll = |p: &[f64]| -bgnbd_total_ll(&BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] }, data);
    let (p, cost) = minimise(nll, &[1.0, 1.0, 1.0, 1.0])?;
    let model = BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] };
    Some(Fit { model, log_likelihood: -cost }).filter(|f| f.log_likelihood.is_finite())
}

/// Maximum-likelihood Gamma-Gamma parameters for `(x, mean spend)` pairs with x ≥ 1.
pub fn fit_gamma_gamma(data: &[(f64, f64)]) -> Option<Fit<GammaGamma>> {
    // Grouped by x: the gamma functions depend on x only.
    let mut by_x: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for (x, mean) in data.iter().copied().filter(|(x, m)| *x >= 1.0 && *m > 0.0) {
        by_x.entry(x.to_bits()).or_default().push(mean);
    }
    if by_x.is_empty() {
        return None;
    }
    let groups: Vec<(f64, Vec<f64>)> = by_x.into_iter().map(|(x, v)| (f64::from_bits(x), v)).collect();
    let nll = |p: &[f64]| {
        let (pp, q, g) = (p[0], p[1], p[2]);
        let mut total = 0.0;
        for (x, means) in &groups {
            let px = pp * x;
            let head = ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * g.ln() + px * x.ln();
            for mean in means {
                total += head + (px - 1.0) * mean.ln() - (px + q) * (x * mean + g).ln();
            }
        }
        -total
    };
    let (p, cost) = minimise(nll, &[1.0, 1.0, 1.0])?;
    let model = GammaGamma { p: p[0], q: p[1], gamma: p[2] };
    // The model's average spend needs q > 1.
    Some(Fit { model, log_likelihood: -cost }).filter(|f| f.log_likelihood.is_finite() && f.model.q > 1.0)
}

/// Rule: the models are used only with enough history to be trusted: about 500 customers who
/// bought and 6 months between the first purchase and today.
pub const MIN_BUYERS: usize = 500;
pub const MIN_HISTORY_WEEKS: f64 = 26.0;

pub fn enough_history(buyers: usize, history_weeks: f64) -> bool {
    buyers >= MIN_BUYERS && history_weeks >= MIN_HISTORY_WEEKS
}

#[cfg(test)]
#[path = "clv_tests.rs"]
mod tests;
