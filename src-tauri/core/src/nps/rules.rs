//! The satisfaction question's rules: who is a promoter, the score, when it is only
//! indicative, when a customer may be asked again, which answers call for a follow-up, the
//! themes of the comments, and the email links that carry an answer back. Pure (the local
//! months follow this computer's time zone; no rule reads the clock).

use crate::analytics::calendar::{local_date, local_midnight};
use crate::text::fold;
use chrono::{DateTime, Datelike, Duration, Months, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Rule: the local months from the one holding `since` to the one holding `until`, each with
/// its label (`"2026-03"`) and the UTC instants it covers, `[from, to)`: whole months, each from
/// its first local midnight (this computer's time zone, as the dashboard's days), the first one
/// too — a point of the trend is a calendar month, and opens exactly that month's answers.
pub fn local_months(since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    if until < since {
        return out;
    }
    let first = local_date(since).with_day(1).expect("a first day");
    let last = local_date(until).with_day(1).expect("a first day");
    let mut m = first;
    while m <= last {
        let next = m.checked_add_months(Months::new(1)).expect("a next month");
        out.push((m.format("%Y-%m").to_string(), local_midnight(m), local_midnight(next)));
        m = next;
    }
    out
}

/// A customer is asked at most once in this many days.
pub const ASK_EVERY_DAYS: i64 = 90;
/// Under this many answers the score is shown as indicative.
pub const INDICATIVE_BELOW: i64 = 30;
/// The longest comment kept.
pub const MAX_COMMENT: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NpsGroup {
    Promoter,
    Passive,
    Detractor,
}

impl NpsGroup {
    pub const ALL: [NpsGroup; 3] = [NpsGroup::Promoter, NpsGroup::Passive, NpsGroup::Detractor];
    /// The scores of the group, both ends included.
    pub fn range(self) -> (u8, u8) {
        match self {
            NpsGroup::Promoter => (9, 10),
            NpsGroup::Passive => (7, 8),
            NpsGroup::Detractor => (0, 6),
        }
    }
}

/// Rule: 9–10 promoters, 7–8 passives, 0–6 detractors.
pub fn group(score: u8) -> NpsGroup {
    match score {
        9.. => NpsGroup::Promoter,
        7 | 8 => NpsGroup::Passive,
        _ => NpsGroup::Detractor,
    }
}

/// Rule: the score is the share of promoters less the share of detractors, from -100 to 100,
/// rounded; nothing without answers.
pub fn score(promoters: i64, passives: i64, detractors: i64) -> Option<i64> {
    let n = promoters + passives + detractors;
    if n <= 0 {
        return None;
    }
    let diff = (promoters - detractors) * 100;
    Some(if diff >= 0 { (diff + n / 2) / n } else { (diff - n / 2) / n })
}

/// Rule: under 30 answers the score is indicative.
pub fn indicative(answers: i64) -> bool {
    answers < INDICATIVE_BELOW
}

/// Rule: a customer may be asked when they were neither asked nor answered in the last 90 days.
pub fn may_ask(last_asked_or_answered: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_asked_or_answered.is_none_or(|t| t <= now - Duration::days(ASK_EVERY_DAYS))
}

/// Rule: a detractor's answer calls for a follow-up.
pub fn needs_follow_up(score: u8) -> bool {
    group(score) == NpsGroup::Detractor
}

/// What comments talk about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Welcome,
    Advice,
    Products,
    Prices,
    Waiting,
    Hours,
    Loyalty,
    Shop,
    Other,
}

/// Words (accent- and case-folded) that mark each theme, in French and English: a word is
/// matched whole, with its plural or feminine (`s`, `x`, `e`, `es`); one ending in `*` is
/// the start of a word ("conseil*": conseils, conseillère); a phrase is words in a row.
const THEME_WORDS: &[(Theme, &[&str])] = &[
    (
        Theme::Welcome,
        &[
            "accueil*",
            "sourire",
            "souriant*",
            "sympa*",
            "aimable*",
            "gentil*",
            "poli",
            "impoli*",
            "chaleureu*",
            "desagreable*",
            "personnel",
            "vendeu*",
            "vendeur*",
            "service",
            "serviable*",
            "friendly",
            "welcom*",
            "kind",
            "rude",
            "staff",
        ],
    ),
    (
        Theme::Advice,
        &[
            "conseil*",
            "expert*",
            "explique*",
            "explication*",
            "connaiss*",
            "recommand*",
            "advice",
            "advise*",
            "helpful",
            "knowledg*",
            "recommend*",
        ],
    ),
    (
        Theme::Products,
        &[
            "produit*",
            "qualite*",
            "choix",
            "frais",
            "fraiche*",
            "gout",
            "savoureu*",
            "assortiment*",
            "stock*",
            "rupture*",
            "product*",
            "quality",
            "choice",
            "fresh*",
            "selection*",
        ],
    ),
    (
        Theme::Prices,
        &[
            "prix",
            "cher",
            "chere",
            "tarif*",
            "promo*",
            "reduction*",
            "price*",
            "pricey",
            "expensive",
            "cheap*",
            "cost",
            "costly",
            "afford*",
        ],
    ),
    (
        Theme::Waiting,
        &[
            "attente*",
            "attendu",
            "attendre",
            "queue*",
            "file d attente",
            "lent",
            "lentement",
            "lenteur*",
            "rapide*",
            "wait*",
            "slow*",
            "quick*",
            "fast",
        ],
    ),
    (
        Theme::Hours,
        &[
            "horaire*",
            "ouvert",
            "ouvrir",
            "ouverture*",
            "ferme",
            "fermeture*",
            "dimanche",
            "hours",
            "open",
            "opening",
            "closed",
            "sunday*",
        ],
    ),
    (
        Theme::Loyalty,
        &[
            "point",
            "carte",
            "fidelit*",
            "recompense*",
            "bon d achat",
            "bons d achat",
            "bon de reduction",
            "bons de reduction",
            "cadeau",
            "card",
            "loyalty",
            "reward*",
            "voucher*",
            "gift*",
        ],
    ),
    (
        Theme::Shop,
        &[
            "boutique*",
            "magasin*",
            "propre*",
            "proprete",
            "ambiance*",
            "deco",
            "decor*",
            "decoration*",
            "rangement*",
            "range",
            "parking*",
            "musique*",
            "shop",
            "store",
            "clean*",
            "dirty",
            "music*",
        ],
    ),
];

/// Phrases whose words mark no theme: a bank card is not the loyalty card, a point of view
/// is not points.
const NOT_THEMES: &[&str] = &[
    "carte bancaire",
    "carte bleue",
    "carte cb",
    "carte de credit",
    "carte credit",
    "carte visa",
    "credit card",
    "debit card",
    "bank card",
    "card payment",
    "point de vue",
];

/// Rule: a word of a comment matches a pattern word (see `THEME_WORDS`).
fn word_matches(word: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(start) => word.starts_with(start),
        None => word == pattern || word.strip_prefix(pattern).is_some_and(|end| matches!(end, "s" | "x" | "e" | "es")),
    }
}

/// Rule: the phrase `pattern` (words with spaces) starts at `words[i]`.
fn phrase_at(words: &[&str], i: usize, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split(' ').collect();
    words.len() >= i + parts.len() && parts.iter().enumerate().all(|(k, p)| word_matches(words[i + k], p))
}

/// Rule: the themes a comment touches (`Other` when none is recognised; nothing for an empty
/// comment).
pub fn themes(comment: &str) -> Vec<Theme> {
    let folded: String = fold(comment).chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    if words.is_empty() {
        return Vec::new();
    }
    // Words of a phrase that marks no theme are set aside first.
    for i in 0..words.len() {
        if let Some(p) = NOT_THEMES.iter().find(|p| phrase_at(&words, i, p)) {
            for w in words.iter_mut().skip(i).take(p.split(' ').count()) {
                *w = "";
            }
        }
    }
    let mut out: Vec<Theme> = THEME_WORDS
        .iter()
        .filter(|(_, patterns)| (0..words.len()).any(|i| patterns.iter().any(|p| phrase_at(&words, i, p))))
        .map(|(t, _)| *t)
        .collect();
    if out.is_empty() {
        out.push(Theme::Other);
    }
    out
}

/// Rule: an emailed answer is dated by its `Date` header when that is believable: not after
/// it was read (`now`), not before the question was asked (or a year before, when that is not
/// known); otherwise by when it was read.
pub fn email_answered_at(
    date: Option<DateTime<Utc>>,
    asked: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let earliest = asked.unwrap_or(now - Duration::days(365));
    date.filter(|d| *d <= now && *d >= earliest).unwrap_or(now)
}

/// The subject of an emailed answer: "Avis 8/10 [TOKEN]" (French) or "Rating 8/10 [TOKEN]".
pub fn reply_subject(word: &str, score: u8, token: &str) -> String {
    format!("{word} {score}/10 [{token}]")
}

/// Rule: read an answer back from a reply's subject, whatever the mail program added in front
/// ("Re:", "TR:", "Fwd:") and whichever language's word it uses: the score before "/10" and
/// the token between brackets. The best reading of `reply_subject_readings`.
pub fn parse_reply_subject(subject: &str) -> Option<(u8, String)> {
    reply_subject_readings(subject).into_iter().next()
}

/// Rule: every way a subject reads as an answer, best first. Tags a mail gateway adds in
/// brackets ("[EXT]", "[EXTERNAL]", "[SPAM?]"), before or after, are passed over: a bracketed
/// word after the score is a reading, fewer tags passed over first, then the rightmost. The
/// mailbox reader keeps the first whose token is one of the shop's.
pub fn reply_subject_readings(subject: &str) -> Vec<(u8, String)> {
    let looks_like_token = |t: &str| (8..=64).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric());
    let mut readings: Vec<(usize, u8, String)> = Vec::new();
    for (open, _) in subject.match_indices('[').rev() {
        let Some(close) = subject[open..].find(']').map(|c| open + c) else { continue };
        let token = subject[open + 1..close].trim();
        if !looks_like_token(token) {
            continue;
        }
        let mut before = subject[..open].trim_end();
        let mut skipped = 0;
        while before.ends_with(']') {
            let Some(tag) = before.rfind('[') else { break };
            before = before[..tag].trim_end();
            skipped += 1;
        }
        let Some(head) = before.strip_suffix("/10") else { continue };
        let digits: String = head.chars().rev().take_while(|c| c.is_ascii_digit()).collect();
        let Ok(score) = digits.chars().rev().collect::<String>().parse::<u8>() else { continue };
        if score <= 10 {
            readings.push((skipped, score, token.to_string()));
        }
    }
    // Stable: among equals, the rightmost (found first) stays first.
    readings.sort_by_key(|r| r.0);
    readings.into_iter().map(|(_, score, token)| (score, token)).collect()
}

/// The eleven links of an emailed survey, 0 to 10: each opens a reply to the shop with the
/// score and the token in the subject (`reply_subject`, percent-encoded). The token is written
/// as it is: one of ours (letters and digits), or the renderer's slot where each recipient's
/// goes.
pub fn email_links(reply_to: &str, word: &str, token: &str) -> Vec<(u8, String)> {
    let address = crate::text::mailto_address(reply_to);
    (0..=10u8)
        .map(|n| {
            (
                n,
                format!(
                    "mailto:{address}?subject={}{token}%5D",
                    crate::text::mailto_component(&format!("{word} {n}/10 ["))
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn groups_and_score_follow_the_nps_definition() {
        let cases = [
            (10, NpsGroup::Promoter),
            (9, NpsGroup::Promoter),
            (8, NpsGroup::Passive),
            (7, NpsGroup::Passive),
            (6, NpsGroup::Detractor),
            (0, NpsGroup::Detractor),
        ];
        for (s, g) in cases {
            assert_eq!(group(s), g, "{s}/10 is a {g:?}");
        }
        assert_eq!(score(60, 20, 20), Some(40), "60 % promoters less 20 % detractors");
        assert_eq!(score(0, 0, 3), Some(-100));
        assert_eq!(score(1, 1, 1), Some(0));
        assert_eq!(score(2, 0, 1), Some(33), "rounded");
        assert_eq!(score(0, 0, 0), None, "no answer, no score");
        assert!(indicative(29) && !indicative(30), "indicative under 30 answers");
        assert!(needs_follow_up(6) && !needs_follow_up(7), "detractors get a follow-up");
    }

    #[test]
    fn a_customer_is_asked_at_most_once_every_90_days() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        assert!(may_ask(None, now), "never asked");
        assert!(!may_ask(Some(now - Duration::days(89)), now));
        assert!(may_ask(Some(now - Duration::days(90)), now));
    }

    #[test]
    fn comments_are_sorted_by_theme_in_french_and_english() {
        let cases: [(&str, &[Theme]); 8] = [
            ("Accueil très chaleureux, merci Julie !", &[Theme::Welcome]),
            ("Les PRIX ont beaucoup augmenté", &[Theme::Prices]),
            ("Trop d'attente à la caisse le samedi", &[Theme::Waiting]),
            ("Great advice and fresh products", &[Theme::Advice, Theme::Products]),
            ("J'aimerais que la boutique soit ouverte le dimanche", &[Theme::Hours, Theme::Shop]),
            ("Mes points de fidélité ont disparu", &[Theme::Loyalty]),
            ("Bof.", &[Theme::Other]),
            ("<script>alert(1)</script>", &[Theme::Other]),
        ];
        for (comment, want) in cases {
            assert_eq!(themes(comment), want, "{comment}");
        }
        assert!(themes("   ").is_empty(), "no comment, no theme");
        let not_themes: [(&str, &[Theme]); 13] = [
            ("Je n'ai pas trouvé ce que je cherchais", &[Theme::Other]),
            ("J'ai payé par carte bancaire sans souci", &[Theme::Other]),
            ("Une belle découverte, je reviendrai", &[Theme::Other]),
            ("La politique de retour est claire", &[Theme::Other]),
            ("De mon point de vue, parfait", &[Theme::Other]),
            ("Trop chère, la confiture", &[Theme::Prices]),
            ("Ma carte de fidélité est pleine", &[Theme::Loyalty]),
            ("Les bons d'achat sont appréciés", &[Theme::Loyalty]),
            ("Paid by credit card, easy", &[Theme::Other]),
            ("C'est bon de venir ici", &[Theme::Other]),
            ("Quelle lenteur à la caisse", &[Theme::Waiting]),
            ("Vendeuse très serviable", &[Theme::Welcome]),
            ("I got a point on my card", &[Theme::Loyalty]),
        ];
        for (comment, want) in not_themes {
            assert_eq!(themes(comment), want, "a word is matched whole, not as the start of another: {comment}");
        }
    }

    #[test]
    fn an_emailed_answer_is_dated_by_its_header_when_that_is_believable() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap();
        let asked = Some(now - Duration::days(20));
        let sent = now - Duration::days(6);
        assert_eq!(email_answered_at(Some(sent), asked, now), sent, "read six days late: dated when written");
        assert_eq!(
            email_answered_at(Some(now + Duration::days(1)), asked, now),
            now,
            "a date in the future: when read"
        );
        assert_eq!(
            email_answered_at(Some(now - Duration::days(30)), asked, now),
            now,
            "before the question: when read"
        );
        assert_eq!(email_answered_at(None, asked, now), now, "no date: when read");
        assert_eq!(
            email_answered_at(Some(now - Duration::days(400)), None, now),
            now,
            "more than a year back: when read"
        );
    }

    #[test]
    fn an_emailed_answer_comes_back_through_the_subject() {
        let links = email_links("boutique@example.com", "Avis", "K7PX2M9QAB");
        assert_eq!(links.len(), 11, "one link per score from 0 to 10");
        assert_eq!(links[7].1, "mailto:boutique@example.com?subject=Avis%207%2F10%20%5BK7PX2M9QAB%5D");
        for (n, link) in &links {
            let subject = link.split_once("?subject=").unwrap().1.replace("%20", " ").replace("%2F", "/");
            let subject = subject.replace("%5B", "[").replace("%5D", "]");
            assert_eq!(subject, reply_subject("Avis", *n, "K7PX2M9QAB"), "the link's subject is the reply's");
        }
        assert_eq!(
            email_links("avis+shop@boulangerie-élise.test", "Avis", "T")[9].1,
            "mailto:avis+shop@boulangerie-%C3%A9lise.test?subject=Avis%209%2F10%20%5BT%5D",
            "an accented address is percent-encoded byte by byte, '+' kept"
        );
        assert!(email_links("a&b?c#d%e\"f@x.test", "Avis", "T")[1]
            .1
            .starts_with("mailto:a%26b%3Fc%23d%25e%22f@x.test?"));
        let cases = [
            ("Avis 7/10 [K7PX2M9QAB]", Some((7, "K7PX2M9QAB"))),
            ("Re: Avis 10/10 [K7PX2M9QAB]", Some((10, "K7PX2M9QAB"))),
            ("TR: RE: Rating 0/10 [K7PX2M9QAB] merci", Some((0, "K7PX2M9QAB"))),
            ("Avis 11/10 [K7PX2M9QAB]", None),
            ("Avis 7/10 [short]", None),
            ("Avis 7/10 [K7PX2M9QAB'; DROP]", None),
            ("unsubscribe K7PX2M9QAB", None),
            ("RE: Avis 8/10 [K7PX2M9QAB] [EXT]", Some((8, "K7PX2M9QAB"))),
            ("[EXTERNAL] RE: Avis 8/10 [K7PX2M9QAB] [SUSPECTED SPAM]", Some((8, "K7PX2M9QAB"))),
            ("Avis 8/10 [K7PX2M9QAB] [EXTERNAL1]", Some((8, "K7PX2M9QAB"))),
            ("Avis 8/10 [EXT] [K7PX2M9QAB]", Some((8, "K7PX2M9QAB"))),
            ("Avis 8/10 [SPAM?] [EXT] [K7PX2M9QAB]", Some((8, "K7PX2M9QAB"))),
            ("Avis 8/10 merci [K7PX2M9QAB]", None),
        ];
        for (subject, want) in cases {
            assert_eq!(parse_reply_subject(subject), want.map(|(s, t)| (s, t.to_string())), "{subject}");
        }
        // A gateway tag as long as a token: both readings, the mailbox reader keeps the shop's.
        assert_eq!(
            reply_subject_readings("RE: Avis 8/10 [EXTERNAL] [K7PX2M9QABK7PX2M9QA]"),
            [(8, "EXTERNAL".to_string()), (8, "K7PX2M9QABK7PX2M9QA".to_string())]
        );
    }
}
