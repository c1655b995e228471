//! One integration test binary: every test gets its own MariaDB/MySQL database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod archive;
mod authenticate;
mod backup;
mod browser;
mod cli;
mod concurrency;
mod csrf;
mod deploy;
mod expiry;
mod faults;
mod gallery;
mod import;
mod input;
mod lifecycle;
mod logs;
mod mail;
mod mfa;
mod mfa_reset;
mod nginx;
mod onetime;
mod ops;
mod passkeys;
mod password;
mod portal;
mod schema;
mod search;
mod sessions;
mod sheets;
mod shutdown;
mod unlock;
mod welcome;
mod wording;
