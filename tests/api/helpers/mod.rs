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
