//! A real SMTP server on loopback (mailin-embedded), for the campaign tests and the
//! `campaign_send_local_sink` benchmark. It keeps what it receives and can be told to answer
//! like a provider in trouble: 550 for one address, 451/421 for the next messages.

use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    count: AtomicUsize,
    /// Addresses refused at RCPT with this code and text.
    refuse_rcpt: Mutex<HashMap<String, (u16, String)>>,
    /// The next N recipients are answered with this code (a provider's temporary or quota
    /// refusal comes at RCPT).
    fail_next: Mutex<Option<(usize, u16, String)>>,
    keep: bool,
}

#[derive(Clone)]
struct SinkHandler {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for SinkHandler {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_string();
        self.to.clear();
        self.data.clear();
        OK
    }
    fn rcpt(&mut self, to: &str) -> Response {
        if let Some((code, text)) = self.shared.refuse_rcpt.lock().unwrap().get(to) {
            return Response::custom(*code, text.clone());
        }
        {
            let mut f = self.shared.fail_next.lock().unwrap();
            if let Some((n, code, text)) = f.as_mut() {
                if *n > 0 {
                    *n -= 1;
                    return Response::custom(*code, text.clone());
                }
            }
        }
        self.to.push(to.to_string());
        OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.shared.keep {
            self.data.extend_from_slice(buf);
        }
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        self.shared.count.fetch_add(1, Ordering::SeqCst);
        if self.shared.keep {
            self.shared.received.lock().unwrap().push(Received {
                from: std::mem::take(&mut self.from),
                to: std::mem::take(&mut self.to),
                data: std::mem::take(&mut self.data),
            });
        }
        OK
    }
}

/// A running sink. The server thread lives until the process ends.
pub struct Sink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Sink {
    /// Start a sink on a free loopback port; `keep` stores each message (tests), otherwise
    /// it only counts them (benchmark).
    pub fn start(keep: bool, threads: u32) -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { keep, ..Default::default() });
        let handler = SinkHandler { shared: shared.clone(), from: String::new(), to: Vec::new(), data: Vec::new() };
        let mut server = Server::new(handler);
        server.with_name("sink.localhost").with_num_threads(threads).with_tcp_listener(listener);
        std::thread::Builder::new().name("smtp-sink".into()).spawn(move || {
            if let Err(e) = server.serve() {
                tracing::error!(error = %e, "SMTP sink stopped");
            }
        })?;
        Ok(Sink { addr, shared })
    }

    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn refuse(&self, address: &str, code: u16, text: &str) {
        self.shared.refuse_rcpt.lock().unwrap().insert(address.to_string(), (code, text.to_string()));
    }

    pub fn fail_next(&self, n: usize, code: u16, text: &str) {
        *self.shared.fail_next.lock().unwrap() = Some((n, code, text.to_string()));
    }
}
