//! "Send a test to myself", read back: what the receiving side saw of the test message —
//! which folder it landed in (inbox or spam), the verdicts the receiving server wrote in
//! `Authentication-Results` (SPF, DKIM, DMARC), and its spam headers (SpamAssassin's
//! `X-Spam-*`, Microsoft's SCL, OVH's `X-VR-SPAMSTATE`). Pure parsing of the headers; the
//! interface says it in words (French, English) from these codes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One verdict: `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`, `permerror`,
/// or absent when the receiving server wrote nothing about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct Readback {
    /// The folder it was found in, as the server names it.
    pub folder: String,
    /// Found in a spam folder.
    pub junk: bool,
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
    /// The receiving server's spam filter marked it (`X-Spam-Flag: YES`, `X-Spam-Status: Yes`,
    /// Microsoft SCL 5 or more, …).
    pub spam_flag: Option<bool>,
    /// The spam score as written (`3.1`, `SCL:1`).
    pub spam_score: Option<String>,
    /// The server that wrote the verdicts.
    pub checked_by: Option<String>,
}

fn unfold_headers(raw: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in raw.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

/// `method=result` in an `Authentication-Results` value.
fn verdict(value: &str, method: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|clause| {
        let c = clause.trim();
        let (m, rest) = c.split_once('=')?;
        if !m.trim().eq_ignore_ascii_case(method) {
            return None;
        }
        let r: String = rest.trim().chars().take_while(|ch| ch.is_ascii_alphabetic()).collect();
        (!r.is_empty()).then(|| r.to_ascii_lowercase())
    })
}

/// Read the headers of the test as it arrived.
pub fn read_headers(raw: &[u8], folder: &str, junk: bool) -> Readback {
    let text = String::from_utf8_lossy(raw);
    let headers = unfold_headers(&text);
    let mut r = Readback { folder: folder.to_string(), junk, ..Default::default() };
    // The topmost Authentication-Results is the receiving server's own; later ones (or ARC
    // copies) come from servers on the way.
    for name in ["authentication-results", "arc-authentication-results"] {
        for (_, v) in headers.iter().filter(|(n, _)| n == name) {
            let v = if name == "arc-authentication-results" {
                v.split_once(';').map(|(_, rest)| rest).unwrap_or(v).to_string()
            } else {
                v.clone()
            };
            if r.checked_by.is_none() {
                r.checked_by = v.split(';').next().map(|s| s.trim().chars().take(120).collect());
            }
            r.spf = r.spf.take().or_else(|| verdict(&v, "spf"));
            r.dkim = r.dkim.take().or_else(|| verdict(&v, "dkim"));
            r.dmarc = r.dmarc.take().or_else(|| verdict(&v, "dmarc"));
        }
    }
    if r.spf.is_none() {
        r.spf = headers
            .iter()
            .find(|(n, _)| n == "received-spf")
            .and_then(|(_, v)| v.split_whitespace().next())
            .map(|s| s.to_ascii_lowercase());
    }
    for (n, v) in &headers {
        let lower = v.to_ascii_lowercase();
        match n.as_str() {
            "x-spam-flag" => r.spam_flag = Some(lower.starts_with("yes")),
            "x-spam-status" => {
                r.spam_flag = r.spam_flag.or(Some(lower.starts_with("yes")));
                if let Some(score) = lower.split_whitespace().find_map(|w| w.strip_prefix("score=")) {
                    r.spam_score = Some(score.trim_end_matches(',').to_string());
                }
            }
            "x-spam-score" => r.spam_score = r.spam_score.take().or(Some(v.chars().take(20).collect())),
            "x-vr-spamstate" => r.spam_flag = Some(lower.contains("spam") && !lower.contains("ok")),
            "x-ms-exchange-organization-scl" => {
                if let Ok(scl) = v.trim().parse::<i32>() {
                    r.spam_flag = Some(scl >= 5);
                    r.spam_score = Some(format!("SCL:{scl}"));
                }
            }
            "x-forefront-antispam-report" => {
                if let Some(scl) = v.split(';').find_map(|p| p.trim().strip_prefix("SCL:")) {
                    if let Ok(n) = scl.trim().parse::<i32>() {
                        r.spam_flag = r.spam_flag.or(Some(n >= 5));
                        r.spam_score = r.spam_score.take().or(Some(format!("SCL:{n}")));
                    }
                }
            }
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiving_servers_verdicts_are_read() {
        let raw = b"Delivered-To: lea@boulangerie.test\r\nAuthentication-Results: mx.receiver.test;\r\n       dkim=pass header.i=@boulangerie.test header.s=s1;\r\n       spf=softfail (domain of transitioning lea@boulangerie.test does not designate 192.0.2.7 as permitted sender) smtp.mailfrom=lea@boulangerie.test;\r\n       dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=boulangerie.test\r\nAuthentication-Results: relay.other.test; spf=pass smtp.mailfrom=x\r\nX-Spam-Status: No, score=2.4 required=5.0\r\nSubject: [TEST] Nouveautes\r\n\r\n";
        let r = read_headers(raw, "INBOX", false);
        assert_eq!(r.spf.as_deref(), Some("softfail"), "the topmost header is the receiving server's");
        assert_eq!(r.dkim.as_deref(), Some("pass"));
        assert_eq!(r.dmarc.as_deref(), Some("fail"));
        assert_eq!(r.spam_flag, Some(false));
        assert_eq!(r.spam_score.as_deref(), Some("2.4"));
        assert_eq!(r.checked_by.as_deref(), Some("mx.receiver.test"));
    }

    #[test]
    fn microsoft_and_ovh_spam_verdicts_are_understood() {
        let ms = b"X-MS-Exchange-Organization-SCL: 6\r\nSubject: x\r\n\r\n";
        let r = read_headers(ms, "Junk", true);
        assert_eq!((r.spam_flag, r.spam_score.as_deref()), (Some(true), Some("SCL:6")), "SCL 5 or more is spam");
        let ovh = b"X-VR-SPAMSTATE: OK\r\n\r\n";
        assert_eq!(read_headers(ovh, "INBOX", false).spam_flag, Some(false));
        let none = b"Subject: x\r\n\r\n";
        let r = read_headers(none, "INBOX", false);
        assert_eq!((r.spf, r.dkim, r.dmarc, r.spam_flag), (None, None, None, None), "nothing written, nothing claimed");
    }
}
