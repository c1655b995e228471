//! HTTP server settings: where it listens, the public base URL, client addresses, CORS and
//! the worker count.

use std::net::SocketAddr;

use super::reader::{Reader, available_cores};

#[derive(Debug, Clone)]
pub struct Http {
    pub bind: String,
    /// External base URL, used in QR codes and links; no trailing slash.
    pub public_url: String,
    pub trust_proxy_headers: bool,
    pub cors_origins: Vec<String>,
    pub workers: Option<usize>,
}

impl Http {
    pub(super) fn read(r: &mut Reader, production: bool) -> Self {
        let bind = r
            .get("STAFFGATE_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<SocketAddr>().is_err() {
            r.problem(format!(
                "STAFFGATE_BIND={bind:?} is not an address like 0.0.0.0:8080"
            ));
        }
        let public_url_set = r.get("STAFFGATE_PUBLIC_URL");
        let public_url = public_url_set
            .clone()
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            r.problem(format!(
                "STAFFGATE_PUBLIC_URL={public_url:?} must start with http:// or https://"
            ));
        }
        if production && public_url_set.is_none() {
            r.problem("STAFFGATE_PUBLIC_URL is required in production");
        }
        let trust_proxy_headers = r.flag("STAFFGATE_TRUST_PROXY_HEADERS");
        let cors_origins: Vec<String> = r
            .get("STAFFGATE_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().trim_end_matches('/').to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                r.problem(format!(
                    "STAFFGATE_CORS_ORIGINS: {origin:?} is not an origin like https://voicedrive.example.jp"
                ));
            }
        }
        let workers = r.get("STAFFGATE_WORKERS").and(Some(r.parse(
            "STAFFGATE_WORKERS",
            available_cores(),
            "a whole number",
        )));
        Self {
            bind,
            public_url,
            trust_proxy_headers,
            cors_origins,
            workers,
        }
    }

    /// What production refuses to serve without.
    pub(super) fn production_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.cors_origins.is_empty() {
            p.push(
                "STAFFGATE_CORS_ORIGINS is required in production: the allowed API origins".into(),
            );
        }
        if !self.public_url.starts_with("https://") {
            p.push("STAFFGATE_PUBLIC_URL must be https:// in production".into());
        }
        p
    }
}
