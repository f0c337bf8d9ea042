//! The sender domain check against a real DNS server on loopback: hickory-server, in this test
//! process, serves the zone `test.` below over UDP and TCP, and the check asks it exactly as
//! the app asks the system's resolver (`NameServers::At`, which `COMPTOIR_DNS_SERVER` sets in
//! the end-to-end tests). A second "server" is a UDP socket that never answers (offline).

use comptoir_core::campaigns::deliverability::dns::{NameServers, ENV_DNS_SERVER};
use comptoir_core::campaigns::deliverability::domain::{check_domain, DomainReport};
use comptoir_core::campaigns::deliverability::records::{RecordCheck, RecordKind};
use comptoir_core::campaigns::deliverability::Level;
use comptoir_core::campaigns::mail::{Delivery, MailSettings, SmtpPreset};
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use hickory_server::Server;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A real 2048-bit RSA public key (the private half was thrown away).
const KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0W6B9ae0VQyWBG/9tRlnq3SJKhxF3InAzrqvdBLolD8COiarqH09k+kPpZ632oEDq0sk+le0jFiGkRblMd8SSWrkOyCxR8wqdQMCKu4tPxPeGupvDMYS1NXslBv/slmLXubfVZjh7M4SFuLnSSy4Yk7A+1xFzi4+o0z1KfzELa7ItiWs4pFSapfZ8p7w5+v5zmkluYX3/d5iRlvE7uRGh7TZAURulFXkehRLwJEc10FDIbDiuJhhhn8fdHxx3Y6c3FnI3+/tDneM//vQh1/8oJFUMvrQtkIFBE71r5FiOfKWR5AsTy9AOd03tqki4b1TpWOfJnO/xEmfRHUnH2wW4wIDAQAB";

/// The test zone. TXT strings longer than 255 bytes are split, as in any real zone.
fn zone() -> String {
    let (k1, k2) = KEY.split_at(200);
    let dkim = format!("\"v=DKIM1; k=rsa; \" \"p={k1}\" \"{k2}\"");
    let cut = format!("\"v=DKIM1; k=rsa; p={}\"", &KEY[..180]);
    format!(
        r#"$ORIGIN test.
$TTL 60
@ IN SOA ns.test. admin.test. 1 3600 600 86400 60
@ IN NS ns.test.
ns IN A 127.0.0.1
; A mail host of the test world, publishing its own SPF.
_spf.mailhost IN TXT "v=spf1 ip4:192.0.2.0/24 -all"

; Google Workspace, everything right; a subdomain follows its organisation's DMARC.
good IN TXT "v=spf1 include:_spf.google.com ~all"
good IN TXT "google-site-verification=abc123"
google._domainkey.good IN TXT {dkim}
_dmarc.good IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
news.good IN TXT "v=spf1 include:_spf.google.com ~all"
google._domainkey.news.good IN TXT {dkim}

; SPF that does not name the provider (Google), through the domain's own mail host.
nospf IN TXT "v=spf1 include:_spf.mailhost.test ~all"
google._domainkey.nospf IN TXT {dkim}
_dmarc.nospf IN TXT "v=DMARC1; p=none"

; Microsoft 365 without DKIM, DMARC quarantine.
nodkim IN TXT "v=spf1 include:spf.protection.outlook.com -all"
_dmarc.nodkim IN TXT "v=DMARC1; p=quarantine"

; Microsoft 365: DKIM CNAMEs published, the key not switched on yet.
pending IN TXT "v=spf1 include:spf.protection.outlook.com -all"
selector1._domainkey.pending IN CNAME selector1-pending-test._domainkey.tenant.onmicrosoft.test.
selector2._domainkey.pending IN CNAME selector2-pending-test._domainkey.tenant.onmicrosoft.test.

; Brevo: SPF, DKIM through its CNAME (followed to the key), DMARC monitoring only.
monitor IN TXT "v=spf1 include:spf.brevo.com ~all"
brevo1._domainkey.monitor IN CNAME b1.monitor-test.dkim.brevo.test.
b1.monitor-test.dkim.brevo IN TXT {dkim}
_dmarc.monitor IN TXT "v=DMARC1; p=none; rua=mailto:rua@monitor.test"

; p=reject, no DKIM, and SPF that does not name the provider: the campaign would be refused.
strict IN TXT "v=spf1 include:_spf.mailhost.test -all"
_dmarc.strict IN TXT "v=DMARC1; p=reject"

; Two SPF records, and a DKIM key cut when pasted.
twospf IN TXT "v=spf1 include:_spf.google.com ~all"
twospf IN TXT "v=spf1 mx -all"
google._domainkey.twospf IN TXT {cut}

; OVHcloud: the selector is per account.
ovh IN TXT "v=spf1 include:mx.ovh.com ~all"
ovhmo1234567-selector1._domainkey.ovh IN TXT {dkim}
"#
    )
}

/// The zone, served on loopback for the whole test run.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let origin = Name::from_ascii("test.").unwrap();
                let (origin, records) = Parser::new(zone(), None, Some(origin)).parse().expect("the test zone parses");
                let handler: InMemoryZoneHandler =
                    InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny).unwrap();
                let mut catalog = Catalog::new();
                catalog.upsert(LowerName::from(origin), vec![Arc::new(handler)]);
                let mut server = Server::new(catalog);
                // UDP and TCP on the same port, as a DNS server listens.
                let (udp, tcp) = loop {
                    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    let port = udp.local_addr().unwrap().port();
                    if let Ok(tcp) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                        break (udp, tcp);
                    }
                };
                let addr = udp.local_addr().unwrap();
                server.register_socket(udp);
                server.register_listener(tcp, Duration::from_secs(5), 4096);
                tx.send(addr).unwrap();
                server.block_until_done().await.ok();
            });
        });
        rx.recv_timeout(Duration::from_secs(10)).expect("the DNS server starts")
    })
}

/// A "DNS server" that never answers: a bound UDP socket nobody reads.
fn silent() -> SocketAddr {
    static SOCKET: OnceLock<std::net::UdpSocket> = OnceLock::new();
    SOCKET.get_or_init(|| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).local_addr().unwrap()
}

fn settings(from: &str, preset: SmtpPreset, host: &str) -> MailSettings {
    let mut m = MailSettings { sender_email: from.into(), delivery: Delivery::Smtp, ..MailSettings::default() };
    m.smtp.preset = preset;
    m.smtp.host = host.into();
    m
}

fn check(from: &str, preset: SmtpPreset, selector: Option<&str>) -> DomainReport {
    let host = match preset {
        SmtpPreset::Gmail => "smtp.gmail.com",
        SmtpPreset::Outlook => "smtp.office365.com",
        SmtpPreset::Brevo => "smtp-relay.brevo.com",
        SmtpPreset::Ovh => "ssl0.ovh.net",
        _ => "smtp.example.com",
    };
    check_domain(&settings(from, preset, host), selector, &NameServers::At(server())).unwrap()
}

fn record(r: &DomainReport, kind: RecordKind) -> &RecordCheck {
    r.checks.iter().find(|c| c.kind == kind).unwrap_or_else(|| panic!("{kind:?} is checked: {r:#?}"))
}

/// (level, sentence key) of SPF, DKIM and DMARC.
fn verdicts(r: &DomainReport) -> [(Level, &str); 3] {
    [RecordKind::Spf, RecordKind::Dkim, RecordKind::Dmarc].map(|k| {
        let c = record(r, k);
        (c.level, c.said.key.as_str())
    })
}

#[test]
fn a_domain_with_everything_right() {
    let r = check("lea@good.test", SmtpPreset::Gmail, None);
    assert_eq!(
        verdicts(&r),
        [
            (Level::Ok, "deliverability.spf.ok"),
            (Level::Ok, "deliverability.dkim.ok"),
            (Level::Ok, "deliverability.dmarc.enforced"),
        ],
        "SPF names Google, the key is whole (read from three TXT strings), DMARC p=reject with DKIM"
    );
    assert_eq!(r.level, Level::Ok, "all good, said only when everything was checked");
    assert!(!r.offline);
    assert_eq!(r.provider, "Google Workspace");
    assert_eq!(
        record(&r, RecordKind::Spf).found,
        ["v=spf1 include:_spf.google.com ~all"],
        "only the SPF record is shown"
    );
    assert!(r.checks.iter().all(|c| c.fixes.is_empty()), "nothing to add");
    let sub = check("news@news.good.test", SmtpPreset::Gmail, None);
    assert_eq!(sub.level, Level::Ok, "a subdomain follows its organisation's DMARC: {sub:#?}");
    assert_eq!(record(&sub, RecordKind::Dmarc).name, "_dmarc.good.test");
}

#[test]
fn spf_missing_the_provider() {
    let r = check("lea@nospf.test", SmtpPreset::Gmail, None);
    let spf = record(&r, RecordKind::Spf);
    assert_eq!((spf.level, spf.said.key.as_str()), (Level::Problem, "deliverability.spf.provider_missing"));
    assert_eq!(spf.said.get("include"), Some("_spf.google.com"));
    let fix = &spf.fixes[0];
    assert_eq!(
        (fix.record_type.as_deref(), fix.name.as_str(), fix.value.as_deref(), fix.replaces),
        (Some("TXT"), "nospf.test", Some("v=spf1 include:_spf.mailhost.test include:_spf.google.com ~all"), true),
        "the record to publish instead, keeping the host's entry (its own SPF was followed and read)"
    );
    assert_eq!(record(&r, RecordKind::Dmarc).said.key, "deliverability.dmarc.monitoring", "p=none is monitoring only");
    assert_eq!(r.level, Level::Problem);
}

#[test]
fn no_dkim_at_the_selectors() {
    let r = check("lea@nodkim.test", SmtpPreset::Outlook, None);
    assert_eq!(
        verdicts(&r),
        [
            (Level::Ok, "deliverability.spf.ok"),
            (Level::Warning, "deliverability.dkim.missing"),
            (Level::Warning, "deliverability.dmarc.spf_only"),
        ],
        "Microsoft's selectors hold nothing; quarantine then rests on SPF alone"
    );
    let names: Vec<_> =
        record(&r, RecordKind::Dkim).fixes.iter().map(|f| (f.record_type.as_deref(), f.name.as_str())).collect();
    assert_eq!(
        names,
        [(Some("CNAME"), "selector1._domainkey.nodkim.test"), (Some("CNAME"), "selector2._domainkey.nodkim.test")]
    );
    assert!(
        r.notes.iter().any(|n| n.said.key == "deliverability.outlook.basic_auth"),
        "the Outlook notice comes along"
    );

    let r = check("lea@pending.test", SmtpPreset::Outlook, None);
    let dkim = record(&r, RecordKind::Dkim);
    assert_eq!(dkim.said.key, "deliverability.dkim.not_switched_on", "CNAMEs to nothing: DKIM not switched on yet");
    assert_eq!(dkim.said.get("target"), Some("selector1-pending-test._domainkey.tenant.onmicrosoft.test"));
}

#[test]
fn dmarc_monitoring_only_with_dkim_through_a_cname() {
    let r = check("lea@monitor.test", SmtpPreset::Brevo, None);
    assert_eq!(
        verdicts(&r),
        [
            (Level::Ok, "deliverability.spf.ok"),
            (Level::Ok, "deliverability.dkim.ok"),
            (Level::Ok, "deliverability.dmarc.monitoring"),
        ],
        "Brevo's brevo1 CNAME is followed to the key"
    );
    assert_eq!(record(&r, RecordKind::Dmarc).found, ["v=DMARC1; p=none; rua=mailto:rua@monitor.test"]);
}

#[test]
fn reject_without_dkim_would_refuse_the_campaign() {
    let r = check("lea@strict.test", SmtpPreset::Gmail, None);
    assert_eq!(
        verdicts(&r),
        [
            (Level::Problem, "deliverability.spf.provider_missing"),
            (Level::Warning, "deliverability.dkim.missing"),
            (Level::Problem, "deliverability.dmarc.will_be_refused"),
        ]
    );
    assert_eq!(r.level, Level::Problem);
    let spf_fix = record(&r, RecordKind::Spf).fixes[0].value.clone();
    assert_eq!(
        spf_fix.as_deref(),
        Some("v=spf1 include:_spf.mailhost.test include:_spf.google.com -all"),
        "the -all is kept"
    );
}

#[test]
fn two_spf_records_and_a_cut_key() {
    let r = check("lea@twospf.test", SmtpPreset::Gmail, None);
    assert_eq!(record(&r, RecordKind::Spf).said.key, "deliverability.spf.several");
    assert_eq!(
        record(&r, RecordKind::Spf).fixes[0].value.as_deref(),
        Some("v=spf1 include:_spf.google.com mx ~all"),
        "one record in place of the two"
    );
    assert_eq!(record(&r, RecordKind::Dkim).said.key, "deliverability.dkim.damaged", "a key cut in two is not a key");
}

#[test]
fn a_per_account_selector_is_checked_when_typed() {
    let r = check("lea@ovh.test", SmtpPreset::Ovh, None);
    assert_eq!(record(&r, RecordKind::Dkim).level, Level::Unknown, "OVH's selector is unknown until typed");
    assert_eq!(record(&r, RecordKind::Dkim).said.key, "deliverability.dkim.selector_needed");
    assert!(!r.offline, "not checked for want of a selector, not for want of DNS answers");
    let r = check("lea@ovh.test", SmtpPreset::Ovh, Some("ovhmo1234567-selector1"));
    assert_eq!(record(&r, RecordKind::Dkim).said.key, "deliverability.dkim.ok");
    assert_eq!(record(&r, RecordKind::Spf).said.key, "deliverability.spf.ok", "include:mx.ovh.com");
}

#[test]
fn a_domain_that_does_not_exist() {
    let r = check("lea@absent.test", SmtpPreset::Gmail, None);
    for c in &r.checks {
        assert_eq!((c.level, c.said.key.as_str()), (Level::Problem, "deliverability.domain.nxdomain"), "{:?}", c.kind);
    }
    assert_eq!(r.checks.len(), 3);
    assert_eq!(r.checks[0].said.get("domain"), Some("absent.test"));
}

#[test]
fn a_server_that_does_not_answer_is_could_not_check_never_fine() {
    let started = Instant::now();
    let r =
        check_domain(&settings("lea@good.test", SmtpPreset::Gmail, "smtp.gmail.com"), None, &NameServers::At(silent()))
            .unwrap();
    assert_eq!(r.level, Level::Unknown, "offline is 'could not check': {r:#?}");
    assert!(r.offline, "and said to be a matter of DNS answers");
    for c in &r.checks {
        assert_eq!(c.level, Level::Unknown, "{:?} is not checked, not fine and not missing", c.kind);
        assert!(c.fixes.is_empty(), "nothing to add when nothing was read");
    }
    assert_eq!(
        r.checks.iter().map(|c| c.said.key.as_str()).collect::<Vec<_>>(),
        ["deliverability.spf.unknown", "deliverability.dkim.unknown", "deliverability.dmarc.unknown"]
    );
    assert!(started.elapsed() < Duration::from_secs(15), "questions are asked at once, with short timeouts");
}

#[test]
fn the_test_server_variable_points_the_check_at_a_server() {
    // This binary's other tests pass the server explicitly; only this one reads the variable.
    std::env::set_var(ENV_DNS_SERVER, server().to_string());
    let servers = NameServers::from_env();
    std::env::remove_var(ENV_DNS_SERVER);
    assert_eq!(servers, NameServers::At(server()));
    let r = check_domain(&settings("lea@good.test", SmtpPreset::Gmail, "smtp.gmail.com"), None, &servers).unwrap();
    assert_eq!(r.level, Level::Ok);
}
