//! The content check: the rendered message (subject, HTML and text parts, as a recipient gets
//! them) judged the way mail filters and readers judge it, before it is sent.
//!
//! Blocks sending: a link shortener (filters treat shortened links as hiding where they go), a
//! message made only of pictures, an unsubscribe line missing from either part (the law
//! requires one in every message). Warns: a subject in capitals or with `!!`, a text part that
//! differs from the HTML or shows Markdown markers, little text for the pictures, pictures
//! without a description, text whose colours are hard to read (WCAG AA).
//!
//! Invariants: `check` is pure (the rendered parts in, the findings out); `Store::content_check`
//! renders each version with sample values exactly as the sender does; a campaign with a
//! blocking finding cannot start (`gate`, called where every campaign starts).

use super::contrast;
use super::html::{self, Reading};
use super::Said;
use crate::campaigns::render::{self, Identity};
use crate::campaigns::{CampaignContent, MessageContent, Variant};
use crate::error::{Error, Result};
use crate::storage::Store;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The campaign cannot be sent until it is fixed.
    Block,
    Warn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    SubjectCapitals,
    SubjectPunctuation,
    TextDiffers,
    MarkdownInText,
    OnlyPictures,
    LittleText,
    ImagesWithoutAlt,
    LinkShortener,
    LowContrast,
    UnsubscribeMissingHtml,
    UnsubscribeMissingText,
}

impl FindingCode {
    pub fn severity(self) -> Severity {
        use FindingCode::*;
        match self {
            LinkShortener | OnlyPictures | UnsubscribeMissingHtml | UnsubscribeMissingText => Severity::Block,
            SubjectCapitals | SubjectPunctuation | TextDiffers | MarkdownInText | LittleText | ImagesWithoutAlt
            | LowContrast => Severity::Warn,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// The explanation, with what to do.
    pub said: Said,
    /// Which version of an A/B test (none when there is only one).
    pub variant: Option<Variant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContentReport {
    pub findings: Vec<Finding>,
    /// A finding blocks sending.
    pub blocking: bool,
}

/// Link shorteners: they hide where a link goes, so filters hold them against a message.
pub const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "bit.do",
    "j.mp",
    "tinyurl.com",
    "tiny.cc",
    "tiny.one",
    "goo.gl",
    "ow.ly",
    "t.co",
    "is.gd",
    "v.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "t.ly",
    "rb.gy",
    "s.id",
    "lnkd.in",
    "adf.ly",
    "shorte.st",
    "bl.ink",
    "soo.gd",
    "qr.ae",
    "po.st",
    "x.co",
    "mcaf.ee",
    "su.pr",
    "tr.im",
    "clck.ru",
    "urlz.fr",
    "kutt.it",
    "shor.by",
    "short.gy",
    "surl.li",
    "snip.ly",
    "lc.cx",
    "trib.al",
    "dlvr.it",
    "ift.tt",
    "amzn.to",
    "u.to",
    "cli.gs",
    "qps.ru",
];

/// The host of a link, lower-cased, without `www.`.
fn host_of(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?.split(':').next()?;
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    Some(h.strip_prefix("www.").map(str::to_string).unwrap_or(h))
}

pub fn is_shortener(host: &str) -> bool {
    SHORTENERS.iter().any(|s| host == *s || host.ends_with(&format!(".{s}")))
}

/// Web addresses written in plain text.
fn urls_in_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("http") {
        let rest = &text[i..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '<' | ']'))
                .unwrap_or(rest.len());
            out.push(rest[..end].to_string());
        }
    }
    out
}

/// Lower-cased words of two letters or more, web addresses left out.
fn words(text: &str) -> BTreeSet<String> {
    let mut clean = String::with_capacity(text.len());
    for token in text.split_whitespace() {
        let t = token.trim_start_matches(['(', '<', '[']);
        if !(t.starts_with("http://") || t.starts_with("https://") || t.starts_with("mailto:")) {
            clean.push_str(token);
            clean.push(' ');
        }
    }
    clean.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2).map(|w| w.to_lowercase()).collect()
}

/// How much of the words the two parts share (Jaccard index, 0 to 1).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (wa, wb) = (words(a), words(b));
    if wa.is_empty() && wb.is_empty() {
        return 1.0;
    }
    wa.intersection(&wb).count() as f64 / wa.union(&wb).count() as f64
}

/// The first Markdown marker left in a text part, if any.
pub fn markdown_marker(text: &str) -> Option<&'static str> {
    for m in ["**", "__", "~~", "```", "]("] {
        if text.contains(m) {
            return Some(m);
        }
    }
    text.lines().map(str::trim_start).find_map(|l| {
        let hashes = l.chars().take_while(|c| *c == '#').count();
        ((1..=6).contains(&hashes) && l[hashes..].starts_with(' ')).then_some("#")
    })
}

/// The share of capitals among the subject's letters, when it has enough letters to tell.
fn capitals_percent(subject: &str) -> Option<u32> {
    let letters: Vec<char> = subject.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 6 {
        return None;
    }
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    Some((upper * 100 / letters.len()) as u32)
}

/// Words of the message itself: the text part before its footer (`--`), picture descriptions
/// (`[…]` lines) left out.
fn body_words(text: &str) -> usize {
    let body = text.rsplit_once("\n--\n").map(|(b, _)| b).unwrap_or(text);
    body.lines()
        .map(str::trim)
        .filter(|l| !(l.starts_with('[') && l.ends_with(']')))
        .flat_map(|l| l.split_whitespace())
        .filter(|w| w.chars().any(char::is_alphanumeric) && !w.starts_with("http"))
        .count()
}

fn finding(code: FindingCode, said: Said) -> Finding {
    Finding { code, severity: code.severity(), said, variant: None }
}

/// Judge one rendered message. `unsubscribe` is the unsubscribe address it was rendered with.
pub fn check(subject: &str, html_part: &str, text_part: &str, unsubscribe: &str) -> Vec<Finding> {
    use FindingCode::*;
    let reading: Reading = html::read(html_part);
    let mut out = Vec::new();
    if let Some(p) = capitals_percent(subject).filter(|p| *p >= 70) {
        out.push(finding(SubjectCapitals, Said::new("deliverability.content.subject_capitals").arg("percent", p)));
    }
    if ["!!", "??", "?!", "!?"].iter().any(|m| subject.contains(m)) || subject.matches('!').count() > 2 {
        out.push(finding(SubjectPunctuation, Said::new("deliverability.content.subject_punctuation")));
    }
    // Picture descriptions are text too: the text part shows them as `[…]`.
    let shown: String = reading.images.iter().fold(reading.text.clone(), |acc, i| acc + " " + &i.alt);
    let alike = similarity(&shown, text_part);
    if alike < 0.6 {
        let percent = (alike * 100.0).round() as u32;
        out.push(finding(TextDiffers, Said::new("deliverability.content.text_differs").arg("percent", percent)));
    }
    if let Some(m) = markdown_marker(text_part) {
        out.push(finding(MarkdownInText, Said::new("deliverability.content.markdown_in_text").arg("marker", m)));
    }
    let images = reading.images.len();
    let body = body_words(text_part);
    if images > 0 && body < 5 {
        out.push(finding(OnlyPictures, Said::new("deliverability.content.only_pictures").arg("images", images)));
    } else if images > 0 && body < 25 * images {
        out.push(finding(
            LittleText,
            Said::new("deliverability.content.little_text").arg("words", body).arg("images", images),
        ));
    }
    let no_alt = reading.images.iter().filter(|i| i.alt.is_empty()).count();
    if no_alt > 0 {
        out.push(finding(
            ImagesWithoutAlt,
            Said::new("deliverability.content.images_without_alt").arg("count", no_alt),
        ));
    }
    let mut hosts = BTreeSet::new();
    for url in reading.links.iter().cloned().chain(urls_in_text(text_part)) {
        if let Some(h) = host_of(&url).filter(|h| is_shortener(h)) {
            hosts.insert(h);
        }
    }
    for h in hosts {
        out.push(finding(LinkShortener, Said::new("deliverability.content.link_shortener").arg("host", h)));
    }
    let worst = reading
        .runs
        .iter()
        .map(|r| (contrast::ratio(r.fg, r.bg), r))
        .filter(|(ratio, r)| *ratio < contrast::minimum(contrast::is_large(r.size_px, r.bold)))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((ratio, run)) = worst {
        let sample: String = run.text.chars().take(40).collect();
        out.push(finding(
            LowContrast,
            Said::new("deliverability.content.low_contrast")
                .arg("ratio", format!("{:.1}", (ratio * 10.0).floor() / 10.0))
                .arg("colours", format!("{} / {}", run.fg.hex(), run.bg.hex()))
                .arg("sample", sample),
        ));
    }
    if !reading.links.iter().any(|l| l == unsubscribe) {
        out.push(finding(UnsubscribeMissingHtml, Said::new("deliverability.content.unsubscribe_missing_html")));
    }
    if !text_part.contains(unsubscribe) {
        out.push(finding(UnsubscribeMissingText, Said::new("deliverability.content.unsubscribe_missing_text")));
    }
    out
}

/// The unsubscribe address the check renders with (a real one carries a recipient's token).
const CHECK_TOKEN: &str = "check";

fn check_message(
    conn: &Connection,
    identity: &Identity,
    msg: &MessageContent,
    variant: Option<Variant>,
) -> Result<Vec<Finding>> {
    let compiled = render::compile(msg, identity, render::images_of(conn, msg)?)?;
    let personal = render::sample_personal(identity.mail.language, &identity.mail.sender_name);
    let unsubscribe = identity.unsubscribe_url(CHECK_TOKEN);
    let r = compiled.render(&personal, &unsubscribe, CHECK_TOKEN)?;
    Ok(check(&r.subject, &r.html, &r.text, &unsubscribe).into_iter().map(|f| Finding { variant, ..f }).collect())
}

/// Check every version of a campaign's content, rendered as the sender renders it.
pub fn check_content(conn: &Connection, identity: &Identity, content: &CampaignContent) -> Result<ContentReport> {
    let mut findings = match &content.b {
        None => check_message(conn, identity, &content.a, None)?,
        Some(b) => {
            let mut f = check_message(conn, identity, &content.a, Some(Variant::A))?;
            f.extend(check_message(conn, identity, b, Some(Variant::B))?);
            f
        }
    };
    findings.sort_by_key(|f| (f.severity != Severity::Block, f.variant.map(|v| v.code())));
    let blocking = findings.iter().any(|f| f.severity == Severity::Block);
    Ok(ContentReport { findings, blocking })
}

/// Refuse to start (or schedule) a campaign whose content has a blocking finding.
pub fn gate(conn: &Connection, identity: &Identity, content: &CampaignContent) -> Result<()> {
    if check_content(conn, identity, content)?.blocking {
        return Err(Error::conflict("conflict.content_blocked"));
    }
    Ok(())
}

impl Store {
    /// The content check of a message being written (saved or not).
    pub fn content_check(&self, content: &CampaignContent) -> Result<ContentReport> {
        check_content(self.conn(), &self.mail_identity()?, content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::mail::MailSettings;
    use crate::campaigns::Block;
    use crate::settings::{Currency, Locale};

    const UNSUB: &str = "mailto:lea@boulangerie.test?subject=unsubscribe%20check";

    fn html(body: &str) -> String {
        format!("<html><body style=\"color:#222222;background:#ffffff\">{body}<p>Boulangerie Léa</p><p><a href=\"{UNSUB}\">Se désinscrire</a></p></body></html>")
    }
    fn text(body: &str) -> String {
        format!("{body}\n--\nBoulangerie Léa\nSe désinscrire : {UNSUB}\n")
    }
    const WORDS: &str = "Nos croissants au beurre sortent du four chaque matin à sept heures, venez les goûter avec un café offert cette semaine";

    fn codes(subject: &str, h: &str, t: &str) -> Vec<FindingCode> {
        check(subject, h, t, UNSUB).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn content_findings() {
        use FindingCode::*;
        let plain = html(&format!("<p>{WORDS}</p>"));
        let plain_text = text(WORDS);
        let table: Vec<(&str, String, String, String, Vec<FindingCode>)> = vec![
            ("a clean message", "Les croissants de la semaine".into(), plain.clone(), plain_text.clone(), vec![]),
            (
                "a subject in capitals",
                "PROMOS DE LA SEMAINE".into(),
                plain.clone(),
                plain_text.clone(),
                vec![SubjectCapitals],
            ),
            (
                "a short word in capitals is fine",
                "Soldes : -50 % chez LÉA".into(),
                plain.clone(),
                plain_text.clone(),
                vec![],
            ),
            (
                "shouting punctuation",
                "Vite, c'est maintenant !!!".into(),
                plain.clone(),
                plain_text.clone(),
                vec![SubjectPunctuation],
            ),
            (
                "a text part that says something else",
                "Nouveautés".into(),
                plain.clone(),
                text("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor"),
                vec![TextDiffers],
            ),
            (
                "Markdown markers in the text part",
                "Nouveautés".into(),
                html(&format!("<p>**{WORDS}**</p>")),
                text(&format!("**{WORDS}**")),
                vec![MarkdownInText],
            ),
            (
                "pictures only",
                "Nouveautés".into(),
                html("<img src=\"cid:m1\" alt=\"Affiche\"><img src=\"cid:m2\" alt=\"Vitrine\">"),
                text("[Affiche]\n[Vitrine]"),
                vec![OnlyPictures],
            ),
            (
                "a picture without description, and little text for it",
                "Nouveautés".into(),
                html("<p>Venez goûter nos croissants tout chauds ce samedi matin</p><img src=\"cid:m1\">"),
                text("Venez goûter nos croissants tout chauds ce samedi matin"),
                vec![LittleText, ImagesWithoutAlt],
            ),
            (
                "a shortened link in the HTML",
                "Nouveautés".into(),
                html(&format!("<p>{WORDS} <a href=\"https://bit.ly/3xYz\">ici</a></p>")),
                text(&format!("{WORDS} ici (https://bit.ly/3xYz)")),
                vec![LinkShortener],
            ),
            (
                "a shortened link in the text part only",
                "Nouveautés".into(),
                plain.clone(),
                text(&format!("{WORDS} https://www.TinyURL.com/abc")),
                vec![LinkShortener],
            ),
            (
                "a long link to the shop is fine",
                "Nouveautés".into(),
                html(&format!("<p>{WORDS} <a href=\"https://boutique.example.com/bit.ly\">ici</a></p>")),
                text(&format!("{WORDS} ici (https://boutique.example.com/bit.ly)")),
                vec![],
            ),
            (
                "light grey text on white",
                "Nouveautés".into(),
                html(&format!("<p style=\"color:#aaaaaa\">{WORDS}</p>")),
                plain_text.clone(),
                vec![LowContrast],
            ),
            (
                "large text needs less contrast",
                "Nouveautés".into(),
                html(&format!("<p>{WORDS}</p><h1 style=\"color:#888888;font-size:28px\">Soldes</h1>")),
                text(&format!("{WORDS}\nSoldes")),
                vec![],
            ),
            (
                "no unsubscribe line in the HTML",
                "Nouveautés".into(),
                format!("<p>{WORDS}</p>"),
                plain_text.clone(),
                vec![UnsubscribeMissingHtml],
            ),
            (
                "no unsubscribe line in the text part",
                "Nouveautés".into(),
                plain.clone(),
                format!("{WORDS}\n"),
                vec![UnsubscribeMissingText],
            ),
        ];
        for (why, subject, h, t, want) in table {
            assert_eq!(codes(&subject, &h, &t), want, "{why}");
        }
    }

    #[test]
    fn blocking_and_warning_findings_are_told_apart() {
        use FindingCode::*;
        for code in [LinkShortener, OnlyPictures, UnsubscribeMissingHtml, UnsubscribeMissingText] {
            assert_eq!(code.severity(), Severity::Block, "{code:?} stops the campaign");
        }
        for code in [
            SubjectCapitals,
            SubjectPunctuation,
            TextDiffers,
            MarkdownInText,
            LittleText,
            ImagesWithoutAlt,
            LowContrast,
        ] {
            assert_eq!(code.severity(), Severity::Warn, "{code:?} is advice");
        }
    }

    #[test]
    fn the_low_contrast_finding_names_the_colours_and_the_text() {
        let f = check(
            "Nouveautés",
            &html("<p style=\"color:#aaaaaa\">Petit texte gris</p>"),
            &text("Petit texte gris"),
            UNSUB,
        );
        let low = f.iter().find(|f| f.code == FindingCode::LowContrast).unwrap();
        assert_eq!(low.said.get("colours"), Some("#aaaaaa / #ffffff"));
        assert_eq!(low.said.get("ratio"), Some("2.3"), "rounded down, never flattering");
        assert_eq!(low.said.get("sample"), Some("Petit texte gris"));
    }

    fn identity() -> Identity {
        Identity {
            mail: MailSettings {
                sender_name: "Boulangerie Léa".into(),
                sender_email: "lea@boulangerie.test".into(),
                postal_address: "3 rue des Lilas\n69001 Lyon".into(),
                ..MailSettings::default()
            },
            currency: Currency::EUR,
            locale: Locale::FrFr,
        }
    }

    #[test]
    fn the_product_renders_messages_that_pass_its_own_check() {
        let s = Store::open_in_memory().unwrap();
        for lang in [crate::types::Lang::Fr, crate::types::Lang::En] {
            for t in render::templates(lang) {
                let content = CampaignContent { a: t.content.clone(), b: None };
                let r = check_content(s.conn(), &identity(), &content).unwrap();
                let blocking: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Block).collect();
                assert!(blocking.is_empty(), "the default template {} ({lang:?}) can be sent: {blocking:?}", t.key);
                assert!(
                    !r.findings.iter().any(|f| matches!(
                        f.code,
                        FindingCode::TextDiffers | FindingCode::MarkdownInText | FindingCode::LowContrast
                    )),
                    "the template {} has a faithful, readable text part and readable colours: {:?}",
                    t.key,
                    r.findings
                );
            }
        }
    }

    #[test]
    fn a_rendered_campaign_with_a_shortener_and_a_shouted_subject_is_caught_per_version() {
        let s = Store::open_in_memory().unwrap();
        let msg = |subject: &str, md: &str| MessageContent {
            subject: subject.into(),
            preheader: String::new(),
            blocks: vec![Block::Text { markdown: md.into() }],
        };
        let content = CampaignContent {
            a: msg("Bonjour {{ first_name }}", &format!("{WORDS}, **{{{{ first_name }}}}**.")),
            b: Some(msg("SOLDES MONSTRES {{ first_name }}", &format!("{WORDS} [ici](https://bit.ly/promo)"))),
        };
        let r = check_content(s.conn(), &identity(), &content).unwrap();
        let got: Vec<_> = r.findings.iter().map(|f| (f.code, f.variant)).collect();
        assert_eq!(
            got,
            [(FindingCode::LinkShortener, Some(Variant::B)), (FindingCode::SubjectCapitals, Some(Variant::B))],
            "blocking findings first; version A is clean (its bold is not left as ** in the text part)"
        );
        assert!(r.blocking);
        assert!(matches!(
            gate(s.conn(), &identity(), &content),
            Err(Error::Conflict { key: "conflict.content_blocked", .. })
        ));
        assert!(
            gate(s.conn(), &identity(), &CampaignContent { a: content.a.clone(), b: None }).is_ok(),
            "version A alone may leave"
        );
    }
}
