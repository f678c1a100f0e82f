use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Name, UnitCode, UnitId, ValidationError};

/// Administrative level of a unit in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitLevel {
    /// Province or centrally-run city (tỉnh).
    Province,
    /// District people's committee (huyện).
    District,
    /// Specialised department (phòng, sở) of a province or district.
    Department,
    /// Commune, ward or town (xã, phường, thị trấn).
    Commune,
}

impl UnitLevel {
    /// Every level, in tree order.
    pub const ALL: [UnitLevel; 4] = [
        UnitLevel::Province,
        UnitLevel::District,
        UnitLevel::Department,
        UnitLevel::Commune,
    ];

    /// Stable lowercase name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::Province => "province",
            UnitLevel::District => "district",
            UnitLevel::Department => "department",
            UnitLevel::Commune => "commune",
        }
    }

    fn depth(self) -> u8 {
        match self {
            UnitLevel::Province => 0,
            UnitLevel::District => 1,
            UnitLevel::Department | UnitLevel::Commune => 2,
        }
    }

    /// Whether a unit of this level may have a direct child of level `child`.
    ///
    /// Children sit strictly lower: a province holds districts, departments (sở) and
    /// communes; a district holds departments (phòng) and communes; departments and communes
    /// are leaves.
    pub fn may_contain(self, child: UnitLevel) -> bool {
        child.depth() > self.depth()
    }
}

impl fmt::Display for UnitLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UnitLevel {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnitLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "level",
                    format!(
                        "'{s}' is not a unit level; use province, district, department or commune"
                    ),
                )
            })
    }
}

/// Materialised path of a unit: the ids of its ancestors and itself, e.g. `/1/4/9/`.
///
/// Being in a subtree is a prefix test, in Rust ([`UnitPath::is_within`]) and in SQL
/// (`path LIKE '/1/4/%'`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitPath(String);

impl UnitPath {
    /// Path of a root unit.
    pub fn root(id: UnitId) -> Self {
        Self(format!("/{id}/"))
    }

    /// Path of a direct child of the unit with this path.
    pub fn child(&self, id: UnitId) -> Self {
        Self(format!("{}{id}/", self.0))
    }

    /// Parses a stored path; every segment must be a positive id.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let inner = s
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
            .filter(|inner| !inner.is_empty());
        let valid =
            inner.is_some_and(|inner| inner.split('/').all(|seg| seg.parse::<UnitId>().is_ok()));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                "path",
                format!("'{s}' is not a unit path like /1/4/9/"),
            ))
        }
    }

    /// The path text, always starting and ending with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ids from the root down to the unit itself.
    pub fn ids(&self) -> Vec<UnitId> {
        self.0
            .split('/')
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    /// The unit this path ends in.
    pub fn unit_id(&self) -> UnitId {
        *self
            .ids()
            .last()
            .expect("a parsed path holds at least one id")
    }

    /// Whether this unit is `ancestor` itself or one of its descendants.
    pub fn is_within(&self, ancestor: &UnitPath) -> bool {
        self.0.starts_with(&ancestor.0)
    }
}

impl TryFrom<String> for UnitPath {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UnitPath> for String {
    fn from(p: UnitPath) -> String {
        p.0
    }
}

impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node of the organisation tree: a province, district, department or commune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Database id.
    pub id: UnitId,
    /// The unit directly above; `None` for a root.
    pub parent_id: Option<UnitId>,
    /// Electronic agency code, unique across the installation.
    pub code: UnitCode,
    /// Official name.
    pub name: Name,
    /// Administrative level.
    pub level: UnitLevel,
    /// Ids of the ancestors and the unit itself.
    pub path: UnitPath,
    /// When the unit was created.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> UnitId {
        UnitId::new(n).unwrap()
    }

    #[test]
    fn paths_nest_by_prefix() {
        let root = UnitPath::root(id(1));
        let district = root.child(id(4));
        let commune = district.child(id(9));
        let other = root.child(id(41));
        assert_eq!(commune.as_str(), "/1/4/9/");
        assert!(commune.is_within(&district));
        assert!(commune.is_within(&commune));
        assert!(!district.is_within(&commune));
        // `/1/41/` shares the characters `/1/4` with `/1/4/` but is not below it.
        assert!(!other.is_within(&district));
        assert_eq!(commune.ids(), vec![id(1), id(4), id(9)]);
        assert_eq!(commune.unit_id(), id(9));
        assert_eq!(UnitPath::parse("/1/4/9/").unwrap(), commune);
        for bad in ["", "/", "//", "/1/4", "1/4/", "/1//4/", "/0/", "/a/"] {
            assert!(UnitPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn levels_nest_downwards() {
        assert!(UnitLevel::Province.may_contain(UnitLevel::District));
        assert!(UnitLevel::Province.may_contain(UnitLevel::Department));
        assert!(UnitLevel::District.may_contain(UnitLevel::Commune));
        assert!(UnitLevel::District.may_contain(UnitLevel::Department));
        assert!(!UnitLevel::District.may_contain(UnitLevel::District));
        assert!(!UnitLevel::Commune.may_contain(UnitLevel::Department));
        assert!(!UnitLevel::Department.may_contain(UnitLevel::Commune));
        for level in UnitLevel::ALL {
            assert_eq!(level.as_str().parse::<UnitLevel>().unwrap(), level);
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                format!("\"{level}\"")
            );
        }
        assert!("ward".parse::<UnitLevel>().is_err());
    }
}
