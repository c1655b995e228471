//! staffgate: staff sign-in server for hospitals.

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod metrics;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;
