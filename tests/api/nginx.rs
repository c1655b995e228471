//! deploy/nginx/staffgate.conf under a real nginx, in front of the real binary. The shipped
//! file is used as it is, except for what `rewrites` lists (ports, upstream, certificate
//! paths, one timeout), so what passes here is what an admin installs.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, STRICT_TRANSPORT_SECURITY};
use serde_json::{Value, json};

use crate::helpers::cli::{Served, text};
use crate::helpers::tools::{repo_root, require, scratch_dir};
use crate::helpers::*;

const CONF: &str = "deploy/nginx/staffgate.conf";
const HSTS: &str = "max-age=31536000; includeSubDomains";
/// A client-supplied hop nginx must not pass on as the client's address.
const FORGED: &str = "203.0.113.9";
/// The test's client connects from this loopback address; nginx reaches staffgate from
/// 127.0.0.1, so staffgate recording 127.0.0.2 proves it took the address nginx saw.
const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const BODY_TIMEOUT_SECS: u64 = 2;

/// Every change made to the shipped file: (shipped text, what the test runs instead). Each
/// shipped text must occur exactly once.
fn rewrites(dir: &Path, ports: &Ports) -> Vec<(&'static str, String)> {
    vec![
        ("listen 80;", format!("listen 127.0.0.1:{};", ports.http)),
        ("listen [::]:80;", String::new()),
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{} ssl http2;", ports.https),
        ),
        ("listen [::]:443 ssl http2;", String::new()),
        (
            "server 127.0.0.1:8080;",
            format!("server 127.0.0.1:{};", ports.staffgate),
        ),
        (
            "/etc/ssl/staffgate/fullchain.pem",
            dir.join("cert.pem").display().to_string(),
        ),
        (
            "/etc/ssl/staffgate/privkey.pem",
            dir.join("key.pem").display().to_string(),
        ),
        (
            "client_body_timeout 10s;",
            format!("client_body_timeout {BODY_TIMEOUT_SECS}s;"),
        ),
    ]
}

struct Ports {
    http: u16,
    https: u16,
    staffgate: u16,
    /// A server of the test's own, beside the shipped ones, that puts the shipped sign-in zone
    /// behind a stand-in load balancer (see `Nginx::start`).
    probe: u16,
}

/// nginx in the foreground on the rewritten conf; killed and its directory removed on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(ports: &Ports) -> Nginx {
        let nginx = require("nginx", "nginx");
        let openssl = require("openssl", "openssl");
        let dir = scratch_dir("nginx");
        let cert = Command::new(openssl)
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .output()
            .unwrap();
        assert!(cert.status.success(), "{}", text(&cert));

        let mut conf = std::fs::read_to_string(repo_root().join(CONF)).unwrap();
        for (shipped, test) in rewrites(&dir, ports) {
            assert_eq!(
                conf.matches(shipped).count(),
                1,
                "{CONF} should hold {shipped:?} exactly once"
            );
            conf = conf.replace(shipped, &test);
        }
        std::fs::write(dir.join("staffgate.conf"), conf).unwrap();
        // What Debian's /etc/nginx/nginx.conf gives the included file (gzip on included),
        // with every path in `dir`. One process (no master/worker split), so killing it
        // leaves nothing behind.
        let d = dir.display();
        let main = format!(
            "master_process off;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
                 access_log {d}/access.log;\n\
                 gzip on;\n\
                 client_body_temp_path {d}/body;\n\
                 proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n\
                 uwsgi_temp_path {d}/uwsgi;\n\
                 scgi_temp_path {d}/scgi;\n\
                 include {d}/staffgate.conf;\n\
                 {probe}\
             }}\n",
            probe = probe_server(ports.probe),
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx { child, dir };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", ports.https)).is_ok() {
                return nginx;
            }
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited with {status}:\n{}", nginx.error_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not listen:\n{}", nginx.error_log());
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The probe: takes the client address from X-Real-IP, as the README asks of a site with a
/// load balancer in front of nginx (real_ip), so a test can speak from any IPv6 address, then
/// limits every POST by the shipped zone and answers 204 (`return` alone would answer before
/// the limit is looked at).
fn probe_server(port: u16) -> String {
    format!(
        "server {{\n\
             listen 127.0.0.1:{port};\n\
             set_real_ip_from 127.0.0.1;\n\
             real_ip_header X-Real-IP;\n\
             limit_req_status 429;\n\
             location / {{ limit_req zone=staffgate_signin; try_files /.none @passed; }}\n\
             location @passed {{ return 204; }}\n\
         }}\n"
    )
}

/// staffgate (trusting proxy headers, public URL on nginx's https port) behind nginx, on a
/// fresh database with the HR administrator seeded.
struct Edge {
    app: TestApp,
    served: Served,
    nginx: Nginx,
    http: String,
    https: String,
}

impl Edge {
    async fn start() -> Edge {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let app = spawn_app().await;
        app.seed_admin();
        app.passwords_set_now_by_the_database();
        let (http, https) = (free_port(), free_port());
        let public_url = format!("https://127.0.0.1:{https}");
        let served = Served::start(
            &app.db.url,
            &[
                ("STAFFGATE_TRUST_PROXY_HEADERS", "true"),
                ("STAFFGATE_PUBLIC_URL", &public_url),
                ("STAFFGATE_LOG_FORMAT", "json"),
            ],
        )
        .await;
        let ports = Ports {
            http,
            https,
            staffgate: port_of(&served.base),
            probe: free_port(),
        };
        let nginx = Nginx::start(&ports);
        Edge {
            app,
            served,
            nginx,
            http: format!("http://127.0.0.1:{http}"),
            https: public_url,
        }
    }

    /// A browser on another machine: connects from `CLIENT`, trusts the self-signed
    /// certificate, keeps cookies, does not follow redirects.
    fn browser(&self) -> reqwest::Client {
        client_from(CLIENT)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.https)
    }
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .danger_accept_invalid_certs(true)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Whether `openssl s_client` completes a handshake with these extra arguments.
fn handshake(port: u16, args: &[&str]) -> bool {
    let out = Command::new(require("openssl", "openssl"))
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    out.status.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_redirects_to_https_sends_hsts_once_and_keeps_metrics_and_old_tls_out() {
    let edge = Edge::start().await;
    let browser = edge.browser();
    let port = port_of(&edge.https);

    let plain = browser
        .get(format!("{}/admin/login?next=%2Fadmin", edge.http))
        .send()
        .await
        .unwrap();
    let page = browser
        .get(edge.url("/admin/login"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    let missing = browser.get(edge.url("/no-such-page")).send().await.unwrap();
    let metrics = browser.get(edge.url("/metrics")).send().await.unwrap();
    let metrics_direct = reqwest::get(format!("{}/metrics", edge.served.base))
        .await
        .unwrap();

    assert_eq!(plain.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        plain.headers()[LOCATION],
        "https://127.0.0.1/admin/login?next=%2Fadmin"
    );
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers().get("content-encoding").is_none(),
        "pages with a CSRF token are not compressed (BREACH)"
    );
    for res in [&page, &missing, &metrics] {
        let hsts: Vec<_> = res
            .headers()
            .get_all(STRICT_TRANSPORT_SECURITY)
            .iter()
            .collect();
        assert_eq!(hsts, [HSTS], "{} {}", res.status(), res.url());
    }
    assert_eq!(metrics.status(), StatusCode::NOT_FOUND);
    assert!(
        !metrics.text().await.unwrap().contains("staffgate_"),
        "nginx passed /metrics on"
    );
    assert_eq!(metrics_direct.status(), StatusCode::OK, "scraped directly");
    assert!(handshake(port, &["-tls1_2"]), "TLS 1.2 is refused");
    assert!(handshake(port, &["-tls1_3"]), "TLS 1.3 is refused");
    let old = ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"];
    assert!(!handshake(port, &old), "TLS 1.1 is accepted");
    let static_rsa = ["-tls1_2", "-cipher", "AES128-GCM-SHA256"];
    assert!(
        !handshake(port, &static_rsa),
        "a suite without forward secrecy is accepted"
    );
}

/// A client that puts a forged address in every header a proxy might be trusted for.
fn forging(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.header("X-Forwarded-For", FORGED)
        .header("Forwarded", format!("for={FORGED}"))
        .header("X-Real-IP", FORGED)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_through_nginx_record_the_address_nginx_saw_and_get_a_secure_cookie() {
    let edge = Edge::start().await;
    let browser = edge.browser();
    let sign_in = |password: &str| {
        let body = json!({ "employeeId": ADMIN_ID, "password": password });
        forging(browser.post(edge.url("/api/v2/auth/authenticate"))).json(&body)
    };

    let wrong = sign_in("not-the-password").send().await.unwrap();
    let api = sign_in(ADMIN_PW).send().await.unwrap();
    let api_status = api.status();
    let tokens: Value = api.json().await.unwrap();
    // The portal helper sends a made-up X-Forwarded-For of its own (PORTAL_IP).
    let portal = Portal {
        client: browser.clone(),
        base: edge.https.clone(),
    }
    .sign_in(ADMIN_ID, ADMIN_PW)
    .await;
    let dashboard = browser.get(edge.url("/admin")).send().await.unwrap();

    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api_status, StatusCode::OK, "{tokens}");
    assert!(tokens["accessToken"].is_string(), "{tokens}");
    assert_eq!(portal.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&portal);
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert_eq!(
        dashboard.status(),
        StatusCode::OK,
        "the cookie comes back over https"
    );
    let seen = Some(CLIENT.to_string());
    assert_eq!(
        edge.app.events_with_ip(ADMIN_ID),
        [
            ("password_login_failed".to_owned(), seen.clone()),
            ("password_login_ok".to_owned(), seen.clone()),
            ("password_login_ok".to_owned(), seen),
        ],
        "every sign-in recorded with the address nginx saw"
    );
    // The request log (the failed sign-in is logged) names the same address and scheme.
    let log = edge.served.log_text();
    assert!(
        log.contains(&format!("\"http.client_ip\":\"{CLIENT}\""))
            && log.contains("\"http.scheme\":\"https\""),
        "{log}"
    );
    assert!(!log.contains(FORGED), "{log}");
}

/// Sends a request head promising a 1000-byte body and 10 bytes of it, then nothing more;
/// returns how long the connection stayed open after that, and what came back.
fn stalled_body(port: u16) -> (Duration, String) {
    use std::io::Write;
    let mut child = Command::new(require("openssl", "openssl"))
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"POST /api/v2/auth/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"refresh",
        )
        .unwrap();
    stdin.flush().unwrap();
    let stalled = Instant::now();
    let mut answer = String::new();
    let read = child.stdout.take().unwrap().read_to_string(&mut answer);
    let open_for = stalled.elapsed();
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    read.unwrap();
    (open_for, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_cut_off_at_the_edge_while_staffgate_keeps_serving() {
    let edge = Edge::start().await;
    let port = port_of(&edge.https);
    let slow: Vec<_> = (0..8)
        .map(|_| tokio::task::spawn_blocking(move || stalled_body(port)))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let ready = edge
        .browser()
        .get(edge.url("/readyz"))
        .send()
        .await
        .unwrap();
    let answered_in = started.elapsed();
    let mut cut = Vec::new();
    for s in slow {
        cut.push(s.await.unwrap());
    }

    assert_eq!(ready.status(), StatusCode::OK);
    assert!(answered_in < Duration::from_secs(1), "{answered_in:?}");
    let timeout = Duration::from_secs(BODY_TIMEOUT_SECS);
    for (open_for, answer) in cut {
        assert!(
            open_for >= timeout - Duration::from_millis(600) && open_for < timeout * 3,
            "connection closed after {open_for:?}, configured {timeout:?}"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    let timed_out = edge.nginx.access_log().matches("\" 408 ").count();
    assert_eq!(timed_out, 8, "nginx logs each as a request timeout (408)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_from_one_address_meets_429_at_the_edge() {
    let edge = Edge::start().await;
    let browser = edge.browser();
    let attempt = |client: &reqwest::Client| {
        client
            .post(edge.url("/api/v2/auth/authenticate"))
            .json(&json!({}))
            .send()
    };

    let burst = futures::future::join_all((0..60).map(|_| attempt(&browser))).await;
    let page = browser.get(edge.url("/admin/login")).send().await.unwrap();
    let neighbour = attempt(&client_from(Ipv4Addr::new(127, 0, 0, 3)))
        .await
        .unwrap();

    let statuses: Vec<StatusCode> = burst.iter().map(|r| r.as_ref().unwrap().status()).collect();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 20, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 429 || *s == 400),
        "staffgate answers the rest (a validation error): {statuses:?}"
    );
    let edge_answer = burst
        .into_iter()
        .map(Result::unwrap)
        .find(|r| r.status() == 429)
        .unwrap();
    assert_eq!(
        edge_answer.headers()[CONTENT_TYPE],
        "text/html",
        "nginx's own 429"
    );
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "opening the sign-in page is not limited"
    );
    assert_eq!(
        neighbour.status(),
        StatusCode::BAD_REQUEST,
        "another address is not limited"
    );
}

/// The statuses of `addresses` POSTing to the probe all at once.
async fn probe_statuses(port: u16, addresses: &[String]) -> Vec<u16> {
    let client = reqwest::Client::new();
    let sent = addresses.iter().map(|ip| {
        client
            .post(format!("http://127.0.0.1:{port}/api/v2/auth/authenticate"))
            .header("X-Real-IP", ip)
            .send()
    });
    futures::future::join_all(sent)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect()
}

#[tokio::test]
async fn the_edge_limit_counts_an_ipv6_client_by_its_64() {
    let ports = Ports {
        http: free_port(),
        https: free_port(),
        staffgate: free_port(),
        probe: free_port(),
    };
    let _nginx = Nginx::start(&ports);
    // Twenty addresses of one /64, written with their zeros compressed in different places.
    let one_64: Vec<String> = (1..=20)
        .map(|i| match i % 3 {
            0 => format!("2001:db8::{i:x}"),
            1 => format!("2001:db8:0:0:{i:x}::1"),
            _ => format!("2001:db8:0:0:{i:x}:{i:x}:{i:x}:{i:x}"),
        })
        .collect();
    let other_64s: Vec<String> = (1..=10).map(|i| format!("2001:db8:{i:x}::1")).collect();
    let ipv4: Vec<String> = (1..=10).map(|i| format!("198.51.100.{i}")).collect();
    let mapped: Vec<String> = (1..=10).map(|i| format!("::ffff:203.0.113.{i}")).collect();

    let limited = |statuses: &[u16]| statuses.iter().filter(|s| **s == 429).count();
    let statuses = probe_statuses(ports.probe, &one_64).await;
    // 10/s without a burst: the twenty arrive within far less than the second that would
    // let half of them through.
    assert!(
        limited(&statuses) >= 10,
        "one /64 is one client: {statuses:?}"
    );
    for (what, addresses) in [
        ("other /64s", &other_64s),
        ("IPv4 addresses", &ipv4),
        ("IPv4-mapped addresses", &mapped),
    ] {
        let statuses = probe_statuses(ports.probe, addresses).await;
        assert_eq!(
            limited(&statuses),
            0,
            "{what} are clients of their own: {statuses:?}"
        );
    }
}

#[test]
fn nginx_lets_through_the_largest_form_staffgate_reads_and_not_much_more() {
    let conf = std::fs::read_to_string(repo_root().join(CONF)).unwrap();
    let mib: usize = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_max_body_size "))
        .and_then(|v| v.strip_suffix("m;"))
        .unwrap()
        .parse()
        .unwrap();
    let largest = staffgate::routes::portal::routes()
        .iter()
        .map(|r| r.body_limit())
        .max()
        .unwrap()
        .max(staffgate::routes::api::MAX_JSON_BYTES);

    assert!(mib * 1024 * 1024 >= largest, "{mib} MiB < {largest} bytes");
    assert!(
        (mib - 1) * 1024 * 1024 < largest,
        "{mib} MiB is more than needed"
    );
}
