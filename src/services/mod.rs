//! Business logic, free of HTTP types: routes, the CLI and tests all call these functions.

pub mod archive;
pub mod auth;
pub mod auth_error;
pub mod backup;
pub mod clock;
pub mod directory;
pub mod explain;
pub mod hashing;
pub mod health;
pub mod history;
pub mod import;
pub mod jwt;
pub mod mail;
pub mod outbox;
pub mod passwords;
pub mod policy;
pub mod portal;
pub mod principal;
pub mod qr;
pub mod session_store;
pub mod sessions;
pub mod sheets;
pub mod signin;
pub mod tokens;
