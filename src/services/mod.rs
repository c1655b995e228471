//! Business logic. No HTTP types here: routes, the CLI and tests all call these functions.

pub mod archive;
pub mod auth;
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
pub mod qr;
pub mod session_store;
pub mod sessions;
pub mod sheets;
pub mod signin;
pub mod tokens;

/// Who is asking, as far as the network can tell.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn cli() -> Self {
        Self {
            ip: "cli".into(),
            user_agent: Some(format!("staffgate-cli/{}", env!("CARGO_PKG_VERSION"))),
        }
    }
}

/// Who performs an administrative act.
#[derive(Debug, Clone)]
pub enum Actor {
    Employee {
        id: i64,
        employee_id: String,
        permission: f64,
    },
    Cli,
}

impl Actor {
    pub fn id(&self) -> Option<i64> {
        match self {
            Actor::Employee { id, .. } => Some(*id),
            Actor::Cli => None,
        }
    }

    /// Nobody administers an account above their own permission level (the CLI, run by the
    /// operator of the machine, may).
    pub fn may_act_on(&self, target: &crate::db::models::Employee) -> Result<(), auth::AuthError> {
        match self {
            Actor::Employee { permission, .. } if target.permission_level > *permission => {
                Err(auth::AuthError::AboveOwnLevel)
            }
            _ => Ok(()),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Actor::Employee { employee_id, .. } => employee_id.clone(),
            Actor::Cli => "cli".into(),
        }
    }
}
