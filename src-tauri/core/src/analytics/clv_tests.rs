//! The lifetime-value models checked against the published CDNOW fit (Fader, Hardie & Lee
//! 2005) and on customers simulated from known parameters.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

/// The CDNOW sample: (x, t_x, T, average repeat spend), 2,357 customers over 39 weeks.
fn cdnow() -> Vec<(History, f64)> {
    include_str!("testdata/cdnow_summary.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f64> = l.split(',').skip(1).map(|v| v.parse().unwrap()).collect();
            (History { x: f[0], t_x: f[1], t: f[2] }, f[3])
        })
        .collect()
}

const PUBLISHED: BgNbd = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

fn close(got: f64, want: f64, rel: f64) -> bool {
    ((got - want) / want).abs() <= rel
}

#[test]
fn the_likelihood_at_the_published_parameters_is_the_published_one() {
    let data = cdnow();
    assert_eq!(data.len(), 2357, "the whole CDNOW sample");
    let ll: f64 = data.iter().map(|(h, _)| bgnbd_ll(&PUBLISHED, h)).sum();
    assert!((ll - -9582.4).abs() < 0.5, "the paper reports a log-likelihood of -9582.4; got {ll}");
    let grouped = Histories::new(data.iter().map(|(h, _)| (*h, 1.0)));
    assert!((bgnbd_total_ll(&PUBLISHED, &grouped) - ll).abs() < 1e-6, "grouping by x changes nothing");
}

#[test]
fn the_bgnbd_fit_on_cdnow_finds_the_published_parameters() {
    let data = Histories::new(cdnow().into_iter().map(|(h, _)| (h, 1.0)));
    let fit = fit_bgnbd(&data).expect("a fit");
    let m = fit.model;
    for (name, got, want) in [("r", m.r, 0.243), ("alpha", m.alpha, 4.414), ("a", m.a, 0.793), ("b", m.b, 2.426)] {
        assert!(close(got, want, 0.01), "{name}: {got} against the published {want}");
    }
    assert!((fit.log_likelihood - -9582.4).abs() < 0.5, "log-likelihood {}", fit.log_likelihood);
}

#[test]
fn the_gamma_gamma_fit_on_cdnow_finds_the_published_parameters() {
    let data: Vec<(f64, f64)> = cdnow().into_iter().map(|(h, spend)| (h.x, spend)).collect();
    let fit = fit_gamma_gamma(&data).expect("a fit");
    let m = fit.model;
    for (name, got, want) in [("p", m.p, 6.25), ("q", m.q, 3.74), ("gamma", m.gamma, 15.44)] {
        assert!(close(got, want, 0.01), "{name}: {got} against the published {want}");
    }
}

#[test]
fn predictions_follow_the_published_formulas() {
    // The paper's worked example: a customer with 2 repeat purchases, the last at 30.43 weeks,
    // observed for 38.86 weeks, is expected to buy 1.226 times in the next 39 weeks.
    let h = History { x: 2.0, t_x: 30.43, t: 38.86 };
    let e = expected_purchases(&PUBLISHED, &h, 39.0);
    assert!((e - 1.226).abs() < 0.005, "expected 1.226 purchases, got {e}");
    // Without the Euler transformation: the same number from the plain series.
    let (BgNbd { r, alpha, a, b }, t) = (PUBLISHED, 39.0);
    let plain = (a + b + h.x - 1.0) / (a - 1.0)
        * (1.0
            - ((alpha + h.t) / (alpha + h.t + t)).powf(r + h.x)
                * hyp2f1(r + h.x, b + h.x, a + b + h.x - 1.0, t / (alpha + h.t + t)))
        / (1.0 + a / (b + h.x - 1.0) * ((alpha + h.t) / (alpha + h.t_x)).powf(r + h.x));
    assert!((plain - e).abs() < 1e-9, "Euler's transformation keeps the value: {plain} vs {e}");
    // P(alive): someone who bought recently is more likely still a customer.
    let recent = p_alive(&PUBLISHED, &History { x: 5.0, t_x: 38.0, t: 39.0 });
    let long_ago = p_alive(&PUBLISHED, &History { x: 5.0, t_x: 5.0, t: 39.0 });
    assert!(recent > 0.8 && long_ago < 0.05, "recent {recent}, long ago {long_ago}");
    assert_eq!(p_alive(&PUBLISHED, &History { x: 0.0, t_x: 0.0, t: 39.0 }), 1.0, "no repeat: never seen leaving");
    // Gamma-Gamma shrinks a customer's average towards the population's.
    let gg = GammaGamma { p: 6.25, q: 3.74, gamma: 15.44 };
    let population = gg.p * gg.gamma / (gg.q - 1.0);
    let one = expected_spend(&gg, 1.0, 100.0);
    let many = expected_spend(&gg, 20.0, 100.0);
    assert!(population < one && one < many && many < 100.0, "{population} < {one} < {many} < 100");
    assert_eq!(expected_spend(&gg, 0.0, 0.0), population, "no purchase: the population's average");
    // The range holds the expectation.
    let lo = purchases_quantile(&PUBLISHED, &h, 39.0, 0.1);
    let hi = purchases_quantile(&PUBLISHED, &h, 39.0, 0.9);
    assert!(lo <= e && e <= hi, "{lo} ≤ {e} ≤ {hi}");
}

/// Customers drawn from BG/NBD: a buying rate from Gamma(r, α), a probability of leaving after
/// each repeat purchase from Beta(a, b), purchases as a Poisson process over `weeks`.
fn simulate_bgnbd(m: &BgNbd, customers: usize, weeks: f64, seed: u64) -> Vec<History> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rate = Gamma::new(m.r, 1.0 / m.alpha).unwrap();
    let leave = Beta::new(m.a, m.b).unwrap();
    (0..customers)
        .map(|_| {
            let lambda: f64 = rate.sample(&mut rng).max(1e-9);
            let p: f64 = leave.sample(&mut rng);
            let gap = Exp::new(lambda).unwrap();
            // Customers arrive over the first half of the period, like a shop's.
            let start = rng.random_range(0.0..weeks / 2.0);
            let observed = weeks - start;
            let (mut t, mut x, mut t_x) = (0.0, 0.0, 0.0);
            loop {
                t += gap.sample(&mut rng);
                if t > observed {
                    break;
                }
                x += 1.0;
                t_x = t;
                if rng.random_bool(p) {
                    break;
                }
            }
            History { x, t_x, t: observed }
        })
        .collect()
}

#[test]
fn the_bgnbd_fit_recovers_the_parameters_of_simulated_customers() {
    let truth = BgNbd { r: 0.5, alpha: 6.0, a: 1.2, b: 3.5 };
    let data = Histories::new(simulate_bgnbd(&truth, 20_000, 104.0, 42).into_iter().map(|h| (h, 1.0)));
    let m = fit_bgnbd(&data).expect("a fit").model;
    for (name, got, want) in
        [("r", m.r, truth.r), ("alpha", m.alpha, truth.alpha), ("a", m.a, truth.a), ("b", m.b, truth.b)]
    {
        assert!(close(got, want, 0.2), "{name}: fitted {got}, simulated with {want}");
    }
    let (rate, fitted_rate) = (truth.r / truth.alpha, m.r / m.alpha);
    assert!(close(fitted_rate, rate, 0.05), "the average buying rate {fitted_rate} against {rate}");
}

#[test]
fn the_gamma_gamma_fit_recovers_the_parameters_of_simulated_spend() {
    let truth = GammaGamma { p: 6.0, q: 4.0, gamma: 15.0 };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let scale = Gamma::new(truth.q, 1.0 / truth.gamma).unwrap();
    let data: Vec<(f64, f64)> = (0..40_000)
        .map(|_| {
            let nu: f64 = scale.sample(&mut rng);
            let each = Gamma::new(truth.p, 1.0 / nu).unwrap();
            let x = rng.random_range(1..=8) as f64;
            let mean = (0..x as usize).map(|_| each.sample(&mut rng)).sum::<f64>() / x;
            (x, mean)
        })
        .collect();
    let m = fit_gamma_gamma(&data).expect("a fit").model;
    for (name, got, want) in [("p", m.p, truth.p), ("q", m.q, truth.q), ("gamma", m.gamma, truth.gamma)] {
        assert!(close(got, want, 0.1), "{name}: fitted {got}, simulated with {want}");
    }
    let (mean, fitted) = (truth.p * truth.gamma / (truth.q - 1.0), m.p * m.gamma / (m.q - 1.0));
    assert!(close(fitted, mean, 0.02), "the average spend {fitted} against {mean}");
}

#[test]
fn the_models_wait_for_about_500_buyers_and_six_months() {
    assert!(enough_history(500, 26.0));
    assert!(!enough_history(499, 100.0), "too few buyers");
    assert!(!enough_history(5_000, 20.0), "too short a history");
}
