//! Domain model of vanthu: units, users, roles and who may do what, free of SQL and HTTP.
//!
//! Every value that crosses a trust boundary (a unit code typed by an admin, a username at
//! login, a digest in a URL) is a newtype that validates on construction, so code holding one
//! never has to check it again. Access decisions live in [`access`] and nowhere else.

pub mod access;
mod delegation;
mod error;
mod ids;
mod login;
mod page;
mod password;
mod text;
mod unit;
mod user;

pub use delegation::{DelegationTerms, Powers, MAX_DELEGATION_DAYS};
pub use error::ValidationError;
pub use ids::{CopyId, DelegationId, IncomingId, OutgoingId, Sha256Digest, UnitId, UserId};
pub use login::{SlowDown, ThrottleKey};
pub use page::{PageRequest, Paged, MAX_PER_PAGE};
pub use password::Password;
pub use text::{Name, UnitCode, Username};
pub use unit::{Unit, UnitLevel, UnitPath};
pub use user::{Role, Roles, User};
