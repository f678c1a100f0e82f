use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Name, UnitId, UserId, Username, ValidationError};

/// What a user does in their unit. A user may hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages units and user accounts in their unit's subtree.
    Admin,
    /// Văn thư: receives, registers, numbers, seals and releases documents.
    Clerk,
    /// Lãnh đạo: assigns incoming documents and signs outgoing ones.
    Leader,
    /// Chuyên viên: drafts outgoing documents and handles assigned incoming ones.
    Specialist,
    /// Reads their unit's whole subtree to check figures; changes nothing.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Clerk,
        Role::Leader,
        Role::Specialist,
        Role::Auditor,
    ];

    /// Stable lowercase name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::Leader => "leader",
            Role::Specialist => "specialist",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "roles",
                    format!("'{s}' is not a role; use admin, clerk, leader, specialist or auditor"),
                )
            })
    }
}

/// The set of roles a user holds, without duplicates, in a fixed order.
///
/// Serialised as a JSON array of role names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Role>", into = "Vec<Role>")]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    /// Whether the set includes `role`.
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Whether the user holds no role at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The roles in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// Comma-separated names, e.g. `clerk,leader` (the storage form).
    pub fn to_comma_list(&self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }

    /// Parses the storage form written by [`Roles::to_comma_list`]; an empty string is no role.
    pub fn parse_comma_list(s: &str) -> Result<Self, ValidationError> {
        s.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl From<Vec<Role>> for Roles {
    fn from(v: Vec<Role>) -> Self {
        v.into_iter().collect()
    }
}

impl From<Roles> for Vec<Role> {
    fn from(r: Roles) -> Self {
        r.0.into_iter().collect()
    }
}

impl<const N: usize> From<[Role; N]> for Roles {
    fn from(a: [Role; N]) -> Self {
        a.into_iter().collect()
    }
}

/// A user account. The password hash and login counters are not part of it: they stay in
/// the store and the authentication code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Database id.
    pub id: UserId,
    /// Login name, unique across the installation.
    pub username: Username,
    /// Full name as shown on screens and signatures.
    pub display_name: Name,
    /// The one unit the user belongs to.
    pub unit_id: UnitId,
    /// What the user may do in that unit.
    pub roles: Roles,
    /// A disabled account cannot log in and its sessions stop working.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account was last changed.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_storage_and_json() {
        let roles = Roles::from([Role::Leader, Role::Clerk, Role::Leader]);
        assert_eq!(roles.to_comma_list(), "clerk,leader");
        assert_eq!(Roles::parse_comma_list("clerk,leader").unwrap(), roles);
        assert!(Roles::parse_comma_list("").unwrap().is_empty());
        assert!(Roles::parse_comma_list("clerk,root").is_err());
        assert_eq!(
            serde_json::to_string(&roles).unwrap(),
            r#"["clerk","leader"]"#
        );
        let parsed: Roles = serde_json::from_str(r#"["auditor","admin"]"#).unwrap();
        assert!(parsed.contains(Role::Admin) && parsed.contains(Role::Auditor));
        assert!(serde_json::from_str::<Roles>(r#"["Admin"]"#).is_err());
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
    }
}
