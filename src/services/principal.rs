//! Who acts: the network client (`ClientInfo`), the admin or CLI performing an act
//! (`Actor`, with the permission ceiling every administrative act checks) and a verified
//! bearer (`Principal`).

use super::auth_error::AuthError;
use super::jwt::AccessClaims;
use crate::db::models::Employee;

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
    pub fn may_act_on(&self, target: &Employee) -> Result<(), AuthError> {
        match self {
            Actor::Employee { permission, .. } if target.permission_level > *permission => {
                Err(AuthError::AboveOwnLevel)
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

/// A verified bearer token and the employee it names, freshly read.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: AccessClaims,
    pub employee: Employee,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::Employee {
            id: self.employee.id,
            employee_id: self.employee.employee_id.clone(),
            permission: self.employee.permission_level,
        }
    }
}
