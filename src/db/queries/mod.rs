//! Plain query functions on `&mut MysqlConnection`, so any of them composes in a transaction.

pub mod attempts;
pub mod audit;
pub mod employees;
pub mod history;
pub mod onetime_tokens;
pub mod refresh_tokens;
