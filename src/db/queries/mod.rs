//! Plain query functions on `&mut MysqlConnection`, so any of them composes in a transaction.

pub mod archive;
pub mod attempts;
pub mod audit;
pub mod directory;
pub mod employees;
pub mod history;
pub mod mfa_resets;
pub mod mfa_tokens;
pub mod onetime_tokens;
pub mod outbox;
pub mod passkeys;
pub mod portal_sessions;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod second_factors;
pub mod server;
pub mod settings;
pub mod sheets;
pub mod signin_gates;
