//! A deterministic, realistic demo shop: French and Québec names with accents, emails, phones
//! written in every common way, birthdays, consent, tags, cards, and three years of activity
//! (see `demo_activity`): seasonal sales, customers who come and go, loyalty members who joined
//! at some point, rewards used, campaigns with control groups and satisfaction answers.
//! The same seed and the same `now` always give the same shop.

use crate::error::{Error, Result};
use crate::storage::Store;
use crate::text::fold;
use crate::types::{Country, Outcome};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const DEFAULT_SEED: u64 = 20_241_231;

pub(crate) const FIRST: &[&str] = &[
    "Élodie",
    "Zoé",
    "Chloé",
    "Léa",
    "Hélène",
    "Jérôme",
    "François",
    "Gaëlle",
    "Maëlys",
    "Noémie",
    "Benoît",
    "Josée",
    "Marie-Ève",
    "Geneviève",
    "Frédéric",
    "Stéphane",
    "Océane",
    "Anaïs",
    "Loïc",
    "Théo",
    "Raphaël",
    "Inès",
    "Clément",
    "Amélie",
    "Cédric",
    "Émile",
    "Jean",
    "Marie",
    "Pierre",
    "Sophie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Philippe",
    "Nicolas",
    "Julien",
    "Camille",
    "Manon",
    "Lucas",
    "Hugo",
    "Louise",
    "Emma",
    "Jade",
    "Gabriel",
    "Arthur",
    "Alice",
    "Mathéo",
    "Maxime",
    "Félix",
    "William",
    "Olivier",
    "Éric",
    "Chantal",
    "Réjean",
    "Ginette",
    "Mélanie",
    "Andrée",
    "Joël",
    "Zoë",
    "Françoise",
    "Aurélien",
    "Bérénice",
    "Lætitia",
    "Yannick",
    "Karim",
    "Fatou",
    "Mei",
    "Thi Hoa",
];
pub(crate) const LAST: &[&str] = &[
    "Martin",
    "Bernard",
    "Lefèvre",
    "Dubois",
    "Côté",
    "Tremblay",
    "Gagnon",
    "Roy",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Girard",
    "Simard",
    "Boucher",
    "Ouellet",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Muller",
    "Faure",
    "André",
    "Rousseau",
    "Lemaire",
    "Duval",
    "Joly",
    "Gérard",
    "Brunet",
    "Perrin",
    "Clément",
    "Leroy",
    "Bonnet",
    "Lambert",
    "Fabre",
    "Henry",
    "Rolland",
    "Barbier",
    "Arnaud",
    "Mathieu",
    "Meunier",
    "N'Diaye",
    "Nguyễn",
    "O'Connor",
    "Saint-Pierre",
    "de la Fontaine",
    "Thériault",
    "Désilets",
    "Lachapelle",
    "Béliveau",
    "Dufresne",
    "Pâquet",
    "Hébert",
    "Ménard",
    "Marchand",
    "Œuvrard",
];
const FR_CITIES: &[(&str, &str)] = &[
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13005", "Marseille"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("44000", "Nantes"),
    ("31000", "Toulouse"),
    ("67000", "Strasbourg"),
    ("35000", "Rennes"),
    ("21000", "Dijon"),
];
const QC_CITIES: &[(&str, &str)] =
    &[("H2X 1Y4", "Montréal"), ("G1R 4P5", "Québec"), ("J8X 3X7", "Gatineau"), ("J1H 1Z3", "Sherbrooke")];
const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean-Jaurès",
    "rue des Lilas",
    "boulevard Saint-Laurent",
    "rue Sainte-Catherine",
    "place du Marché",
    "chemin des Vignes",
];
/// Reserved domains only (RFC 2606 / 6761): a demo address can never reach a real inbox.
pub const DOMAINS: &[&str] =
    &["example.com", "example.org", "example.net", "courriel.test", "messagerie.example", "boite.invalid"];
const TAGS: &[&str] =
    &["VIP", "Bio", "Voisin", "Salon 2024", "Café", "Épicerie fine", "Professionnel", "Newsletter papier"];
const CATEGORIES: &[&str] = &["Épicerie", "Café", "Boulangerie", "Cadeaux", "Vins", "Fromages"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DemoSpec {
    pub customers: u32,
    pub purchases: u32,
    pub seed: u64,
}

impl DemoSpec {
    /// The shop of `shared/quality.md` (100k customers, 1M purchases) times `scale`.
    pub fn benchmark(scale: f64) -> Self {
        DemoSpec {
            customers: (100_000.0 * scale).round() as u32,
            purchases: (1_000_000.0 * scale).round() as u32,
            seed: DEFAULT_SEED,
        }
    }
    /// A shop small enough to explore by hand.
    pub fn explore() -> Self {
        DemoSpec { customers: 1_200, purchases: 14_000, seed: DEFAULT_SEED }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DemoSummary {
    pub customers: u32,
    pub purchases: u32,
    pub refunds: u32,
}

/// What the activity generator needs to know of each customer (index = id - 1).
pub(crate) struct DemoCustomer {
    pub created: DateTime<Utc>,
    /// How much more often than others they buy.
    pub weight: f64,
    /// They stop coming after this.
    pub until: DateTime<Utc>,
    /// When they took the loyalty card, if they did.
    pub joined: Option<DateTime<Utc>>,
    /// Has an email address and agreed to hear from the shop.
    pub reachable: Option<String>,
    pub english: bool,
}

fn pick<'a, R: Rng>(rng: &mut R, list: &'a [&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn email_part(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

/// Digits in pairs: "0612345678" → "06 12 34 56 78" with `sep` " ".
fn pairs(digits: &str, sep: &str) -> String {
    digits.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(sep)
}

/// A French mobile written one of the ways people write it.
fn fr_phone<R: Rng>(rng: &mut R) -> String {
    let lead = if rng.random_bool(0.7) { 6 } else { 7 };
    let rest: Vec<u32> = (0..4).map(|_| rng.random_range(0..100)).collect();
    let d = format!("0{lead}{:02}{:02}{:02}{:02}", rest[0], rest[1], rest[2], rest[3]);
    match rng.random_range(0..5) {
        0 => d,
        1 => pairs(&d, " "),
        2 => pairs(&d, "."),
        3 => format!("+33 {lead} {}", pairs(&d[2..], " ")),
        _ => format!("0033{}", &d[1..]),
    }
}

fn qc_phone<R: Rng>(rng: &mut R) -> String {
    let area = ["514", "438", "418", "450", "819"][rng.random_range(0..5)];
    let exchange = rng.random_range(200..990);
    let line = rng.random_range(1000..9999);
    if rng.random_bool(0.5) {
        format!("+1 {area} {exchange} {line}")
    } else {
        format!("+1 ({area}) {exchange}-{line}")
    }
}

/// The programme of the demo shop: 1 point per euro, a coffee card of 10 stamps, three tiers.
pub fn demo_programme() -> crate::loyalty::Programme {
    use crate::loyalty::*;
    Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        stamps: Some(StampRule {
            per_visit: 1,
            milestones: vec![
                StampMilestone { stamps: 5, label: "-10 % sur un café".into() },
                StampMilestone { stamps: 10, label: "Un café offert".into() },
            ],
        }),
        category_multipliers: vec![CategoryMultiplier { category: "Vins".into(), percent: 200 }],
        // Points of a customer who has not come for a year expire: the breakage to watch.
        expiry: Expiry::AfterInactivityMonths { months: 12 },
        tiers: Some(TierRules {
            basis: TierBasis::Spend,
            period: TierPeriod::Rolling12Months,
            tiers: vec![
                Tier { name: "Bronze".into(), threshold: 0, percent: 100, advantages: String::new(), entry_points: 0 },
                Tier {
                    name: "Argent".into(),
                    threshold: 30_000,
                    percent: 110,
                    advantages: "Une dégustation par mois".into(),
                    entry_points: 20,
                },
                Tier {
                    name: "Or".into(),
                    threshold: 80_000,
                    percent: 125,
                    advantages: "Accès aux ventes privées".into(),
                    entry_points: 50,
                },
            ],
        }),
        ..Programme::default()
    }
}

/// The page cache while the demo shop is written, in KiB: 1 GiB, or 1 KiB per purchase when
/// that is more (a shop takes about 0.75 KiB per purchase, so even the ten-times benchmark
/// shop's pages stay in memory instead of spilling into the WAL, which made its generation
/// grow faster than the shop). SQLite allocates only the pages used: the 1,200-customer demo
/// stays a few megabytes.
fn demo_cache_kib(spec: &DemoSpec) -> i64 {
    (spec.purchases as i64).max(1_048_576)
}

impl Store {
    /// Fill the database with a demo shop. Refused when customers already exist, so a real
    /// customer file is never mixed with invented people.
    pub fn generate_demo(&mut self, spec: DemoSpec) -> Result<Outcome<DemoSummary>> {
        let now = self.now();
        let shop_country = self.settings()?.country;
        // The whole shop is one transaction. Once its dirty pages outgrow the usual cache they
        // spill to the WAL, and from then on every page read looks the page up in a WAL index
        // that keeps growing: the referral replay, which comes last and reads at random, grew
        // faster than the shop (803 s for the 100k shop against 68 s without it). A larger
        // cache for the time of the generation keeps the transaction's pages in memory.
        self.conn().pragma_update(None, "cache_size", -demo_cache_kib(&spec))?;
        let generated = self.generate_demo_tx(spec, now, shop_country);
        self.conn().pragma_update(None, "cache_size", -crate::storage::CACHE_KIB)?;
        generated
    }

    fn generate_demo_tx(
        &mut self,
        spec: DemoSpec,
        now: DateTime<Utc>,
        shop_country: Country,
    ) -> Result<Outcome<DemoSummary>> {
        self.transact("demo.generate", None, |tx| {
            let existing: i64 = tx.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
            if existing > 0 {
                return Err(Error::conflict("conflict.demo_needs_empty_file"));
            }
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
            let start: DateTime<Utc> = now - Duration::days(3 * 365);
            let mut ins_customer = tx.prepare(
                "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, email, email_norm, phone_e164, phone_digits,
                   address_line1, postcode, city, country, birthday_day, birthday_month, birthday_year, language, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)",
            )?;
            let mut ins_card = tx.prepare("INSERT INTO cards (id, customer_id, number, status, issued_at) VALUES (?1, ?1, ?2, 'active', ?3)")?;
            let mut ins_tag = tx.prepare("INSERT OR IGNORE INTO customer_tags (customer_id, tag, tag_fold) VALUES (?1, ?2, ?3)")?;
            let mut ins_consent = tx.prepare(
                "INSERT INTO consents (customer_id, channel, granted, basis, source, wording, recorded_at) VALUES (?1, 'email', ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut ins_event = tx.prepare("INSERT INTO customer_events (customer_id, kind, at, data) VALUES (?1, 'created', ?2, '{}')")?;
            // Customers arrive over the three years, in the order of their numbers.
            let mut arrivals: Vec<DateTime<Utc>> =
                (0..spec.customers).map(|_| start + Duration::minutes(rng.random_range(0..(3 * 365 * 24 * 60)))).collect();
            arrivals.sort();
            let mut people: Vec<DemoCustomer> = Vec::with_capacity(spec.customers as usize);
            for (n, created_at) in arrivals.into_iter().enumerate() {
                let i = n as i64 + 1;
                let first = pick(&mut rng, FIRST);
                let last = pick(&mut rng, LAST);
                let quebec = rng.random_bool(0.2);
                let (postcode, city) = if quebec { QC_CITIES[rng.random_range(0..QC_CITIES.len())] } else { FR_CITIES[rng.random_range(0..FR_CITIES.len())] };
                let email = rng.random_bool(0.8).then(|| {
                    let n = rng.random_range(1..999);
                    format!("{}.{}{}@{}", email_part(first), email_part(last), n, pick(&mut rng, DOMAINS))
                });
                let raw_phone = rng.random_bool(0.85).then(|| if quebec { qc_phone(&mut rng) } else { fr_phone(&mut rng) });
                let phone = raw_phone.and_then(|p| crate::phone::normalize(&p, shop_country));
                let (bd, bm, by) = if rng.random_bool(0.6) {
                    let m = rng.random_range(1..=12u32);
                    let d = rng.random_range(1..=28u32);
                    (Some(d), Some(m), rng.random_bool(0.5).then(|| rng.random_range(1940..2006)))
                } else {
                    (None, None, None)
                };
                let english = rng.random_bool(0.1);
                let street = format!("{} {}", rng.random_range(1..180), pick(&mut rng, STREETS));
                ins_customer.execute(params![
                    i, first, last, fold(first), fold(last), email, email.as_deref().map(crate::text::normalize_email),
                    phone.as_ref().map(|p| &p.e164), phone.as_ref().map(|p| p.search_digits.as_str()).unwrap_or(""),
                    street, postcode, city, if quebec { Country::CA.code() } else { Country::FR.code() }, bd, bm, by,
                    if english { "en" } else { "fr" }, created_at
                ])?;
                ins_event.execute(params![i, created_at])?;
                for _ in 0..rng.random_range(0..3) {
                    let t = pick(&mut rng, TAGS);
                    ins_tag.execute(params![i, t, fold(t)])?;
                }
                let roll = rng.random_range(0..100);
                let consent = match roll {
                    0..=54 => Some((true, "express", "counter")),
                    55..=74 => Some((true, "existing_customer", "counter")),
                    75..=84 => Some((false, "refused", "counter")),
                    _ => None,
                };
                if let Some((granted, basis, source)) = consent {
                    ins_consent.execute(params![i, granted, basis, source, "J'accepte de recevoir la lettre d'information de la boutique.", created_at])?;
                }
                // Loyalty is skewed: a few regulars make most visits, stay longer and take the card.
                let u: f64 = rng.random();
                let weight = u * u * u * 10.0 + 0.05;
                let stays_days = 120.0 + rng.random::<f64>() * 900.0 + weight * 250.0;
                let until = created_at + Duration::days(stays_days as i64);
                let joined = if weight > 5.0 {
                    Some(created_at)
                } else if rng.random_bool(0.55 + 0.04 * weight) {
                    // Most take the card at once; some after a few visits.
                    Some(if rng.random_bool(0.75) { created_at } else { created_at + Duration::days(rng.random_range(20..300)) })
                        .filter(|j| *j <= now)
                } else {
                    None
                };
                if let Some(j) = joined {
                    ins_card.execute(params![i, crate::cards::number_for_serial(i as u64), j])?;
                }
                let reachable = email.filter(|_| consent.is_some_and(|c| c.0));
                people.push(DemoCustomer { created: created_at, weight, until, joined, reachable, english });
            }
            drop((ins_customer, ins_card, ins_tag, ins_consent, ins_event));
            let programme = demo_programme();
            tx.execute(
                "INSERT INTO loyalty_programmes (document, created_at) VALUES (?1, ?2)",
                params![serde_json::to_string(&programme)?, now],
            )?;
            let made = activity::generate(tx, &mut rng, &people, spec.purchases, start, now, &programme)?;
            tx.execute(
                "UPDATE customers SET visit_count = a.visits, total_spent_cents = a.spent, first_purchase_at = a.first_at, last_purchase_at = a.last_at
                 FROM (SELECT customer_id,
                              sum(kind = 'sale') AS visits,
                              sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END) AS spent,
                              min(CASE kind WHEN 'sale' THEN occurred_at END) AS first_at,
                              max(CASE kind WHEN 'sale' THEN occurred_at END) AS last_at
                       FROM purchases GROUP BY customer_id) AS a
                 WHERE a.customer_id = customers.id",
                [],
            )?;
            // The tiers the members already hold, reached before today (so no entry bonus).
            if let Some(t) = &programme.tiers {
                let since = crate::loyalty::rules::period_start(t.period, now);
                let spends: Vec<(i64, i64)> = {
                    let mut st = tx.prepare(
                        "SELECT customer_id, sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END)
                         FROM purchases p WHERE occurred_at >= ?1 AND EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = p.customer_id)
                         GROUP BY customer_id",
                    )?;
                    let rows = st.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                let kept = crate::loyalty::rules::kept_until(t.period, now);
                let mut ins_tier = tx.prepare(
                    "INSERT INTO tier_events (customer_id, tier_index, tier_name, reached_at, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (customer, spend) in spends {
                    // Every tier the customer's spend reaches, up to the highest.
                    for (i, tier) in t.tiers.iter().enumerate().filter(|(_, tier)| spend >= tier.threshold) {
                        ins_tier.execute(params![customer, i as i64, tier.name, now, kept])?;
                    }
                }
            }
            crate::referrals::demo::generate(tx, spec.customers)?;
            tx.execute("INSERT INTO settings (key, value) VALUES ('onboarded', '1') ON CONFLICT (key) DO UPDATE SET value = '1'", [])?;
            tx.execute("INSERT INTO settings (key, value) VALUES ('demo', '1') ON CONFLICT (key) DO UPDATE SET value = '1'", [])?;
            tx.changes.purchases = true;
            tx.changes.settings = true;
            Ok(DemoSummary { customers: spec.customers, purchases: made.sales, refunds: made.refunds })
        })
    }
}

#[path = "demo_activity.rs"]
mod activity;
