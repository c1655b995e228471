//! Why a batch of account sheets was not printed, with the message the person printing reads.

use super::pdf::{FontError, MAX_BATCH};
use crate::db::DbError;
use crate::domain::EmployeeStatus;
use crate::services::hashing::HashingError;

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error(transparent)]
    Font(#[from] FontError),
    #[error("unknown employee ID(s): {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("not active: {}", .0.iter().map(|(c, s)| format!("{c} ({})", s.as_str())).collect::<Vec<_>>().join(", "))]
    NotActive(Vec<(String, EmployeeStatus)>),
    #[error("above the actor's permission level: {}", .0.join(", "))]
    Forbidden(Vec<String>),
    /// Nobody to print for; `above_level` were left out for their permission level.
    #[error("nobody to print for ({above_level} above the actor's level)")]
    Empty { above_level: usize },
    #[error("{count} sheets requested, at most {MAX_BATCH} per batch")]
    TooMany { count: usize },
    #[error("the selection changed: {expected} confirmed, {actual} now")]
    Changed { expected: usize, actual: usize },
    #[error("the hashing pool is saturated")]
    Busy,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl crate::db::TxError for SheetError {
    fn query_error(&self) -> Option<&diesel::result::Error> {
        match self {
            SheetError::Db(db) => db.query_error(),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for SheetError {
    fn from(e: diesel::result::Error) -> Self {
        SheetError::Db(DbError::Query(e))
    }
}

impl From<HashingError> for SheetError {
    fn from(e: HashingError) -> Self {
        match e {
            HashingError::Busy => SheetError::Busy,
            other => SheetError::Internal(other.to_string()),
        }
    }
}

impl SheetError {
    /// What the person printing reads, in Japanese and English.
    pub fn messages(&self) -> (String, String) {
        match self {
            SheetError::Font(f) => (f.message_ja(), f.to_string()),
            SheetError::Unknown(codes) => (
                format!("登録されていない職員番号です: {}", codes.join("、")),
                format!("No employee with ID {}.", codes.join(", ")),
            ),
            SheetError::NotActive(list) => {
                let ja = list
                    .iter()
                    .map(|(c, s)| format!("{c}（{}）", status_ja(*s)))
                    .collect::<Vec<_>>()
                    .join("、");
                let en = list
                    .iter()
                    .map(|(c, s)| format!("{c} ({})", s.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    format!("在職中でない職員のシートは印刷できません: {ja}"),
                    format!("Sheets are printed only for active staff: {en}."),
                )
            }
            SheetError::Forbidden(codes) => (
                format!(
                    "あなたより権限レベルの高いアカウントのシートは印刷できません: {}",
                    codes.join("、")
                ),
                format!(
                    "You cannot print sheets for accounts above your own permission level: {}.",
                    codes.join(", ")
                ),
            ),
            SheetError::Empty { above_level: 0 } => (
                "印刷する対象の職員がいません。".into(),
                "There is nobody to print a sheet for.".into(),
            ),
            SheetError::Empty { above_level } => (
                format!(
                    "対象の {above_level} 名はすべて、あなたより権限レベルが高いアカウントのため印刷できません。権限レベルの高い管理者に依頼してください。"
                ),
                format!(
                    "All {above_level} people selected have a higher permission level than yours; ask an administrator at their level to print."
                ),
            ),
            SheetError::TooMany { count } => (
                format!(
                    "{count} 件が選ばれました。一度に印刷できるのは {MAX_BATCH} 件までです。部署ごとに分けて印刷してください。"
                ),
                format!(
                    "{count} sheets selected; at most {MAX_BATCH} can be printed at once. Print by department instead."
                ),
            ),
            SheetError::Changed { expected, actual } => (
                format!(
                    "確認後に対象が変わりました（確認時 {expected} 件、現在 {actual} 件）。もう一度確認してください。"
                ),
                format!(
                    "The selection changed after you confirmed it ({expected} then, {actual} now). Please confirm again."
                ),
            ),
            SheetError::Busy => (
                "ただいま混み合っています。しばらくしてからもう一度お試しください。".into(),
                "The server is busy. Please try again shortly.".into(),
            ),
            SheetError::Db(_) | SheetError::Internal(_) => (
                "シートを作成できませんでした。何も変更されていません。".into(),
                "The sheets could not be created. Nothing was changed.".into(),
            ),
        }
    }
}

fn status_ja(s: EmployeeStatus) -> &'static str {
    match s {
        EmployeeStatus::Active => "在職",
        EmployeeStatus::Suspended => "停止中",
        EmployeeStatus::Retired => "退職",
    }
}
