//! Readiness: whether the database answers, for `/readyz`.

use crate::db::{self, DbError};
use crate::state::AppState;

/// The database answers a trivial query.
pub async fn database_answers(state: &AppState) -> Result<(), DbError> {
    state.read(|conn, _, _| Ok(db::ping(conn)?)).await
}
