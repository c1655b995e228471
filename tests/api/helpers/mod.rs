//! The test harness: a real server and database per test, and clients that act like the
//! people who use staffgate (staff on the API, HR in the portal, a phone's browser, the CLI).

mod app;
pub mod browser;
pub mod cli;
mod db;
mod portal;
mod private_server;
mod problems;
pub mod qr;
pub mod smtp;
pub mod tools;

pub use app::*;
pub use db::*;
pub use portal::*;
pub use private_server::*;
pub use problems::*;

/// A local TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}
