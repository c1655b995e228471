//! Who acts: the network client (`ClientInfo`), the admin or CLI performing an act
//! (`Actor`, with the permission ceiling every administrative act checks) and a verified
//! bearer (`Principal`).

use std::net::{IpAddr, Ipv6Addr};

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

    /// Whom a per-address limit counts: an IPv4 address (also written IPv4-mapped) by
    /// itself, an IPv6 address by its /64, since one subscriber or host is handed a whole /64
    /// and may rotate through it. What is not an address (`cli`, `unknown`) stands for itself.
    /// The history keeps the full address (`ip`).
    pub fn limit_key(&self) -> String {
        match self.ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => v4.to_string(),
            Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let network = u128::from(v6) & !(u128::from(u64::MAX));
                    format!("{}/64", Ipv6Addr::from(network))
                }
            },
            Err(_) => self.ip.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> String {
        ClientInfo {
            ip: ip.into(),
            user_agent: None,
        }
        .limit_key()
    }

    #[test]
    fn ipv4_addresses_are_limited_one_by_one() {
        assert_eq!(key("192.0.2.1"), "192.0.2.1");
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_ipv4_address() {
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_ne!(key("::ffff:192.0.2.1"), key("::ffff:192.0.2.2"));
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key_however_written() {
        let one = key("2001:db8:1:2::1");
        assert_eq!(one, "2001:db8:1:2::/64");
        for same in [
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
            "2001:0DB8:0001:0002:0:0:0:abcd",
            "2001:db8:1:2:a:b:c:d",
        ] {
            assert_eq!(key(same), one, "{same}");
        }
        assert_eq!(key("2001:db8::1"), key("2001:db8:0:0:1:2:3:4"));
        assert_eq!(key("2001:db8::1"), "2001:db8::/64");
    }

    #[test]
    fn neighbouring_64s_are_apart() {
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("2001:db8::1"), key("2001:db8:0:1::1"));
    }

    #[test]
    fn what_is_not_an_address_stands_for_itself() {
        assert_eq!(key("cli"), "cli");
        assert_eq!(key("unknown"), "unknown");
    }

    #[test]
    fn every_key_fits_the_ledgers_address_column() {
        assert!(key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").len() <= 45);
    }
}
