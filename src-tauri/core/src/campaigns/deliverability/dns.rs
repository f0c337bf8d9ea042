//! Asking the DNS for the sender domain's records, telling apart what the merchant can act on:
//! records found, no such record, no such domain, and no answer at all (offline, a silent
//! server).
//!
//! Name servers: the operating system's (read from its configuration by hickory-resolver), or
//! the one named by `COMPTOIR_DNS_SERVER` (`127.0.0.1:5353`) — set only by the tests, to point
//! the app at a DNS server on loopback serving test zones. When neither can be used, every
//! answer is "no answer": the check says it could not check, never that all is well.
//!
//! Invariants: short timeouts and a single attempt per query (the merchant is waiting); a new
//! resolver per check, so a record just added at the host is seen at the next check; queries
//! are for fully-qualified names (no search domains appended).

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// Tests only: the DNS server the domain check asks (`127.0.0.1:5353`, or an address alone for
/// port 53).
pub const ENV_DNS_SERVER: &str = "COMPTOIR_DNS_SERVER";

/// How long one question waits for its answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// What the DNS said about one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The records (TXT strings joined, or the CNAME target).
    Found(Vec<String>),
    /// The name exists but has no record of that type.
    NoRecord,
    /// The name does not exist (NXDOMAIN).
    NoDomain,
    /// No usable answer: no network, a server that does not answer, or one that failed.
    Failed,
}

impl Answer {
    pub fn records(&self) -> &[String] {
        match self {
            Answer::Found(r) => r,
            _ => &[],
        }
    }
}

/// Which name servers to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameServers {
    /// The operating system's configuration.
    System,
    At(SocketAddr),
}

impl NameServers {
    /// `COMPTOIR_DNS_SERVER` when set (tests), else the system's.
    pub fn from_env() -> NameServers {
        match std::env::var(ENV_DNS_SERVER) {
            Ok(v) if !v.trim().is_empty() => match parse_server(&v) {
                Some(addr) => NameServers::At(addr),
                None => {
                    tracing::warn!(value = %v, "{ENV_DNS_SERVER} is not an address; using the system's DNS");
                    NameServers::System
                }
            },
            _ => NameServers::System,
        }
    }
}

/// `127.0.0.1:5353`, `[::1]:53`, or an address alone (port 53).
pub fn parse_server(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    s.parse::<SocketAddr>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)))
}

/// A resolver for one check. Build it inside `run`.
pub struct Dns {
    resolver: Option<TokioResolver>,
}

fn options() -> ResolverOpts {
    let mut o = ResolverOpts::default();
    o.timeout = QUERY_TIMEOUT;
    o.attempts = 1;
    o.ndots = 0;
    o
}

impl Dns {
    pub fn new(servers: &NameServers) -> Dns {
        let built = match servers {
            NameServers::At(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], vec![ns]),
                    TokioRuntimeProvider::default(),
                )
                .with_options(options())
                .build()
            }
            NameServers::System => TokioResolver::builder_tokio().and_then(|mut b| {
                let o = b.options_mut();
                o.timeout = QUERY_TIMEOUT;
                o.attempts = 1;
                b.build()
            }),
        };
        match built {
            Ok(r) => Dns { resolver: Some(r) },
            Err(e) => {
                tracing::warn!(error = %e, "no DNS resolver could be set up; the domain check cannot ask");
                Dns { resolver: None }
            }
        }
    }

    /// A resolver that never answers (nothing configured).
    pub fn none() -> Dns {
        Dns { resolver: None }
    }

    async fn ask(&self, name: &str, kind: RecordType) -> Answer {
        let Some(r) = &self.resolver else { return Answer::Failed };
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match r.lookup(fqdn.as_str(), kind).await {
            Ok(lookup) => {
                let found: Vec<String> = lookup
                    .answers()
                    .iter()
                    .filter_map(|rec| match (&rec.data, kind) {
                        (RData::TXT(txt), RecordType::TXT) => {
                            let bytes: Vec<u8> = txt.txt_data.iter().flat_map(|part| part.iter().copied()).collect();
                            Some(String::from_utf8_lossy(&bytes).into_owned())
                        }
                        (RData::CNAME(target), RecordType::CNAME) => {
                            Some(target.to_string().trim_end_matches('.').to_ascii_lowercase())
                        }
                        _ => None,
                    })
                    .collect();
                if found.is_empty() {
                    Answer::NoRecord
                } else {
                    Answer::Found(found)
                }
            }
            Err(e) => classify(&e),
        }
    }

    /// The TXT records of a name, each one's strings joined.
    pub async fn txt(&self, name: &str) -> Answer {
        self.ask(name, RecordType::TXT).await
    }

    /// Where a name points (CNAME), lower-cased without the final dot.
    pub async fn cname(&self, name: &str) -> Answer {
        self.ask(name, RecordType::CNAME).await
    }

    /// The TXT records of several names at once, in the order asked.
    pub async fn txt_many(&self, names: &[String]) -> Vec<Answer> {
        self.many(names, RecordType::TXT).await
    }

    pub async fn cname_many(&self, names: &[String]) -> Vec<Answer> {
        self.many(names, RecordType::CNAME).await
    }

    async fn many(&self, names: &[String], kind: RecordType) -> Vec<Answer> {
        let Some(r) = &self.resolver else { return vec![Answer::Failed; names.len()] };
        let mut set = tokio::task::JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            let one = Dns { resolver: Some(r.clone()) };
            let name = name.clone();
            set.spawn(async move { (i, one.ask(&name, kind).await) });
        }
        let mut out = vec![Answer::Failed; names.len()];
        while let Some(done) = set.join_next().await {
            if let Ok((i, a)) = done {
                out[i] = a;
            }
        }
        out
    }
}

fn classify(e: &NetError) -> Answer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(none)) if none.response_code == ResponseCode::NXDomain => {
            Answer::NoDomain
        }
        NetError::Dns(DnsError::NoRecordsFound(none)) if none.response_code == ResponseCode::NoError => {
            Answer::NoRecord
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => Answer::NoDomain,
        other => {
            tracing::debug!(error = %other, "DNS question without answer");
            Answer::Failed
        }
    }
}

/// Run a check's questions on a small runtime of its own (the caller is a plain thread: a
/// command's blocking task, the CLI, a test).
pub fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime can always be built")
        .block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_server_variable_takes_an_address_with_or_without_port() {
        assert_eq!(parse_server("127.0.0.1:5353"), Some("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(parse_server(" 127.0.0.1 "), Some("127.0.0.1:53".parse().unwrap()), "port 53 by default");
        assert_eq!(parse_server("[::1]:5300"), Some("[::1]:5300".parse().unwrap()));
        assert_eq!(parse_server("dns.example.com"), None, "a name is not an address");
    }

    #[test]
    fn without_a_resolver_every_question_is_unanswered() {
        let dns = Dns::none();
        let got =
            run(async { (dns.txt("example.com").await, dns.txt_many(&["a.test".into(), "b.test".into()]).await) });
        assert_eq!(got.0, Answer::Failed, "no resolver: no answer, never 'no record'");
        assert_eq!(got.1, vec![Answer::Failed, Answer::Failed]);
    }
}
