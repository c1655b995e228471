//! `SmtpSink`: a small real SMTP server: speaks enough of RFC 5321 (EHLO/HELO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT) for lettre, records every accepted message, and can be stopped and
//! started again on the same port to play an outage.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The Subject header, with RFC 2047 encoded words decoded.
    pub fn subject(&self) -> String {
        let mut lines = self.data.split("\r\n");
        let mut raw = String::new();
        while let Some(line) = lines.next() {
            if let Some(rest) = line.strip_prefix("Subject: ") {
                raw.push_str(rest);
                for more in lines.by_ref() {
                    if more.starts_with(' ') || more.starts_with('\t') {
                        raw.push_str(more.trim_start());
                    } else {
                        break;
                    }
                }
                break;
            }
        }
        decode_words(&raw)
    }

    /// The body of the part with this content type (e.g. `text/plain`), decoded.
    pub fn part(&self, content_type: &str) -> String {
        let Some(at) = self.data.find(&format!("Content-Type: {content_type}")) else {
            return String::new();
        };
        let rest = &self.data[at..];
        let Some(body_at) = rest.find("\r\n\r\n") else {
            return String::new();
        };
        let headers = &rest[..body_at];
        let body = &rest[body_at + 4..];
        let body = body.split("\r\n--").next().unwrap_or("");
        if headers.contains("Content-Transfer-Encoding: base64") {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(STANDARD.decode(compact).unwrap()).unwrap()
        } else {
            body.to_owned()
        }
    }
}

fn decode_words(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("=?") {
        out.push_str(rest[..start].trim());
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            break;
        };
        let text = &parts[2][..end];
        if parts[1].eq_ignore_ascii_case("b") {
            out.push_str(&String::from_utf8(STANDARD.decode(text).unwrap()).unwrap());
        } else {
            out.push_str(text);
        }
        let consumed = start + 2 + parts[0].len() + parts[1].len() + 2 + end + 2;
        rest = &raw[raw.len() - rest.len() + consumed..];
    }
    out.push_str(rest);
    out
}

pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Self {
            port,
            messages: Arc::default(),
            tasks: Arc::default(),
        };
        sink.serve(listener);
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn serve(&self, listener: TcpListener) {
        let messages = self.messages.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let conn = tokio::spawn(session(stream, messages.clone()));
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the port and every open connection: the server is down.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Listens again on the same port, keeping what was received.
    pub async fn restart(&self) {
        // The aborted accept task releases the port as soon as the runtime drops it.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) => {
                    tries += 1;
                    assert!(tries < 100, "cannot listen on {} again: {e}", self.port);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        };
        self.serve(listener);
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits (bounded) until `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn address(arg: &str) -> String {
    arg.split_once(':')
        .map(|(_, a)| a.trim().trim_start_matches('<').trim_end_matches('>'))
        .unwrap_or("")
        .to_owned()
}

async fn session(stream: TcpStream, messages: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM") || upper.starts_with("RSET") {
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO") {
            to.push(address(line.trim_end()));
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
            }
            messages.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}
