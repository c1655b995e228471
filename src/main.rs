//! Entry point: parse the command line, initialise logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = staffgate::cli::Cli::parse();
    let _ = dotenvy::dotenv();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object per line for journald / Loki: every line written while a request is
    // served carries that request's span, with its request_id.
    match std::env::var("STAFFGATE_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().with_span_list(true).init(),
        Ok("text") | Ok("") | Err(_) => logs.init(),
        Ok(other) => {
            eprintln!("STAFFGATE_LOG_FORMAT must be text or json (got {other:?})");
            return ExitCode::from(2);
        }
    }
    staffgate::cli::run(cli)
}
