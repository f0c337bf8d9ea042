//! Brevo's and Mailjet's bounce APIs, against an HTTP server on loopback that answers with the
//! JSON shapes their documentation gives (the real services cannot be reached from here): the
//! key goes in the documented header, events become the same decisions as the mailbox's reports.

use super::*;
use crate::campaigns::secrets::Secrets;
use crate::campaigns::suppression::{is_suppressed, SuppressionReason};
use crate::mailbox::run::read_now;
use crate::mailbox::settings::{api_account, ApiProvider};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A tiny HTTP server: answers each request with `answer(path)`, records the request lines
/// and headers.
struct Api {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

fn serve(answer: impl Fn(&str) -> (u16, String) + Send + 'static) -> Api {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(head);
            let (status, body) = answer(&path);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Api { url, seen }
}

fn shop_with_api(p: ApiProvider, url: &str, key: &str) -> (Store, Secrets) {
    let (mut s, _) = shop();
    let m = crate::mailbox::settings::MailboxSettings { api: Some(p), api_url: url.into(), ..Default::default() };
    s.save_mailbox_settings(&m, None).unwrap();
    let secrets = Secrets::without_keychain();
    secrets.set(&api_account(p), key);
    (s, secrets)
}

#[test]
fn brevo_hard_bounces_and_complaints_are_read_with_the_api_key() {
    let (mut s, _) = shop();
    customer(&mut s, "Paul", "paul@example.org");
    customer(&mut s, "Marc", "marc@example.org");
    customer(&mut s, "Anne", "anne@example.org");
    let out = tempfile::tempdir().unwrap();
    let c = send_campaign(&mut s, out.path(), "Décembre");
    let (mid, _) = sent_to(&s, c, "paul@example.org");
    let api = serve(move |path| {
        let body = if path.contains("event=hardBounces") {
            format!(
                r#"{{"events":[{{"email":"paul@example.org","date":"2026-11-23T08:00:00.000+01:00","messageId":"{mid}","event":"hardBounces","reason":"550 5.1.1 user unknown","tag":"","from":"lea@boulangerie.test"}}]}}"#
            )
        } else if path.contains("event=spam") {
            r#"{"events":[{"email":"marc@example.org","date":"2026-11-23T09:00:00.000+01:00","messageId":"<other@x>","event":"spam"}]}"#.to_string()
        } else {
            r#"{"events":[]}"#.to_string()
        };
        (200, body)
    });
    let m = crate::mailbox::settings::MailboxSettings {
        api: Some(ApiProvider::Brevo),
        api_url: api.url.clone(),
        ..Default::default()
    };
    s.save_mailbox_settings(&m, None).unwrap();
    let secrets = Secrets::without_keychain();
    secrets.set(&api_account(ApiProvider::Brevo), "xkeysib-test-key");
    let r = read_now(&mut s, &secrets).unwrap();
    assert!(r[0].ok, "{r:?}");
    assert_eq!(r[0].source, "brevo");
    assert_eq!(
        is_suppressed(s.conn(), "paul@example.org").unwrap().map(|x| x.reason),
        Some(SuppressionReason::HardBounce)
    );
    assert_eq!(
        is_suppressed(s.conn(), "marc@example.org").unwrap().map(|x| x.reason),
        Some(SuppressionReason::Complaint)
    );
    assert_eq!(is_suppressed(s.conn(), "anne@example.org").unwrap(), None);
    let seen = api.seen.lock().unwrap().join("\n").to_ascii_lowercase();
    assert!(seen.contains("api-key: xkeysib-test-key"), "the key goes in Brevo's api-key header");
    assert!(seen.contains("/v3/smtp/statistics/events?event=hardbounces"), "the documented endpoint");
    // Read again: the same events are not handled twice.
    let again = read_now(&mut s, &secrets).unwrap();
    assert_eq!(again[0].handled, 0, "an event is handled once");
}

#[test]
fn mailjet_bounces_are_read_with_basic_authentication() {
    let api = serve(|path| {
        let body = if path.contains("MessageStatus=10") {
            r#"{"Count":1,"Data":[{"ID":1152921511742440000,"ArrivedAt":"2026-11-23T08:00:00Z","ContactAlt":"lucie@example.org","Status":"hardbounced","Subject":"x"}],"Total":1}"#
        } else {
            r#"{"Count":0,"Data":[],"Total":0}"#
        };
        (200, body.to_string())
    });
    let (mut s, secrets) = shop_with_api(ApiProvider::Mailjet, &api.url, "pubkey:secret");
    customer(&mut s, "Lucie", "lucie@example.org");
    let r = read_now(&mut s, &secrets).unwrap();
    assert!(r[0].ok, "{r:?}");
    assert_eq!(
        is_suppressed(s.conn(), "lucie@example.org").unwrap().map(|x| x.reason),
        Some(SuppressionReason::HardBounce)
    );
    let seen = api.seen.lock().unwrap().join("\n");
    assert!(seen.contains("Basic cHVia2V5OnNlY3JldA=="), "key:secret in HTTP basic authentication");
}

#[test]
fn a_refused_key_is_a_failed_reading_that_says_so() {
    let api = serve(|_| (401, r#"{"code":"unauthorized","message":"Key not found"}"#.to_string()));
    let (mut s, secrets) = shop_with_api(ApiProvider::Brevo, &api.url, "bad");
    let r = read_now(&mut s, &secrets).unwrap();
    assert!(!r[0].ok);
    assert_eq!(r[0].problem.as_deref(), Some("wrong_password"), "401 is a wrong key");
    let (mut s2, _) = shop_with_api(ApiProvider::Brevo, &api.url, "x");
    let no_key = Secrets::without_keychain();
    let r = read_now(&mut s2, &no_key).unwrap();
    assert_eq!(r[0].problem.as_deref(), Some("password_missing"), "no key stored: said, not guessed");
}
