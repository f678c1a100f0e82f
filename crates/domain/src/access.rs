//! Who may do what, where. Every handler asks [`authorize`]; nothing else decides access.
//!
//! The rules:
//! - Everyone sees their own unit and the objects in it. Admins and auditors also see every
//!   unit below their own. Nobody sees ancestors or siblings.
//! - An object outside what the actor sees is [`AccessError::NotFound`], answered exactly like
//!   a missing id so that nothing leaks about other units.
//! - A visible object the actor's roles may not act on is [`AccessError::Forbidden`].
//! - Admins create and update units and users in their subtree. Clerks, leaders and
//!   specialists, who handle documents, upload files into their own unit. Reading is open to
//!   anyone who can see the object.
//! - Incoming documents: the clerk of the receiving unit receives, registers and returns them;
//!   its leader assigns them. The people and units they are handed to see them too (however
//!   far down the tree they sit): every assignee records progress, the lead assignee
//!   completes them or forwards the lead. Of a unit named as assignee, its leaders and
//!   specialists act for it.
//! - A personal signing key is its owner's alone: only the owner, and only while a leader,
//!   enrols it, changes its PIN, unlocks it or signs with it. Admins included, nobody else.
//! - Delegation (ủy quyền): a leader may let a deputy of their unit assign incoming documents
//!   and sign outgoing ones as the assigned signer in their stead. A deputy may then do what
//!   the principal could, as the principal's own roles and unit allow; the answer names the
//!   principal ([`Authority::Delegated`]) so the act records both. Only one's own powers can
//!   be delegated: a principal's rights are weighed without their own delegations, so nothing
//!   passes on twice.

use serde::Serialize;
use thiserror::Error;

use crate::{DelegationId, Powers, Role, Roles, Unit, UnitId, UnitPath, User, UserId};

/// The authenticated user on whose behalf a request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who acts.
    pub user_id: UserId,
    /// The unit they belong to.
    pub unit_id: UnitId,
    /// Materialised path of that unit.
    pub unit_path: UnitPath,
    /// Their roles.
    pub roles: Roles,
    /// The delegations in force for them as deputy today.
    pub delegations: Vec<Delegated>,
}

/// A delegation in force, as the deputy holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegated {
    /// Which delegation.
    pub id: DelegationId,
    /// The leader who delegated, as they are now (their own delegations left out).
    pub principal: Actor,
    /// What the deputy may do in their stead.
    pub powers: Powers,
}

/// On whose authority an allowed action is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The actor's own roles and unit.
    Own,
    /// A delegation from `principal`.
    Delegated {
        /// The delegation.
        delegation: DelegationId,
        /// The leader the actor stands in for.
        principal: UserId,
    },
}

/// Who did something, and on whose authority: what a trace line and an audit entry record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acting {
    /// The person who acted.
    pub user: UserId,
    /// Their own authority, or the delegation they acted under.
    pub authority: Authority,
}

impl From<UserId> for Acting {
    fn from(user: UserId) -> Self {
        Self {
            user,
            authority: Authority::Own,
        }
    }
}

impl Actor {
    /// The actor for `user`, who belongs to `unit`.
    pub fn new(user: &User, unit: &Unit) -> Self {
        debug_assert_eq!(user.unit_id, unit.id, "the unit must be the user's own");
        Self {
            user_id: user.id,
            unit_id: unit.id,
            unit_path: unit.path.clone(),
            roles: user.roles.clone(),
            delegations: Vec::new(),
        }
    }

    /// The same actor holding these delegations as deputy.
    pub fn with_delegations(self, delegations: Vec<Delegated>) -> Self {
        Self {
            delegations,
            ..self
        }
    }

    /// Who acts, on the `authority` that [`authorize`] gave.
    pub fn acting(&self, authority: Authority) -> Acting {
        Acting {
            user: self.user_id,
            authority,
        }
    }

    /// Whether the actor holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    /// The units whose objects this actor may see; lists are filtered by it.
    pub fn visible_scope(&self) -> VisibleScope {
        if self.has_role(Role::Admin) || self.has_role(Role::Auditor) {
            VisibleScope::Subtree(self.unit_path.clone())
        } else {
            VisibleScope::Unit(self.unit_id)
        }
    }
}

/// The part of the unit tree an actor sees, in a form SQL can filter on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum VisibleScope {
    /// Only this unit (`unit_id = ?`).
    Unit(UnitId),
    /// This unit and all its descendants (`path LIKE '<prefix>%'`).
    Subtree(UnitPath),
}

impl VisibleScope {
    /// Whether a unit with this path lies in the scope.
    pub fn contains(&self, path: &UnitPath) -> bool {
        match self {
            VisibleScope::Unit(id) => path.unit_id() == *id,
            VisibleScope::Subtree(prefix) => path.is_within(prefix),
        }
    }
}

/// Something an actor wants to do. New kinds of object add their actions here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See a unit.
    ReadUnit,
    /// Watch the interchange outbox of the target unit (packages to agencies elsewhere).
    WatchInterchange,
    /// Create a unit below the target unit (the target is the new unit's parent).
    CreateUnit,
    /// Change a unit's name or code.
    UpdateUnit,
    /// See a user account in the target unit.
    ReadUser,
    /// Create a user account in the target unit.
    CreateUser,
    /// Change a user account in the target unit.
    UpdateUser,
    /// Store a file on behalf of the target unit.
    UploadFile,
    /// Read a file held by the target unit.
    ReadFile,
    /// Check the signatures of an uploaded PDF without keeping it.
    VerifyDocument,
    /// Record an incoming document (văn bản đến) received by the target unit.
    ReceiveIncoming,
    /// See an incoming document and its trace.
    ReadIncoming,
    /// Give an incoming document its arrival number.
    RegisterIncoming,
    /// Send an incoming document back to its sender as invalid or misaddressed.
    ReturnIncoming,
    /// Hand an incoming document to a lead and co-handlers with an instruction and deadline.
    AssignIncoming,
    /// Note how the handling of an incoming document is going.
    RecordProgress,
    /// Declare the handling of an incoming document finished.
    CompleteIncoming,
    /// Hand the lead of an incoming document on to someone else.
    ForwardIncoming,
    /// Enrol, read, re-PIN, unlock or sign with a personal signing key (the target names
    /// its owner).
    UsePersonalKey,
    /// Upload a new outgoing draft (văn bản đi) in the target unit.
    DraftOutgoing,
    /// See an outgoing document, its revisions and its trace.
    ReadOutgoing,
    /// Upload a new revision of a draft: its drafter, the target's owner.
    ReviseOutgoing,
    /// Comment on a draft.
    CommentOutgoing,
    /// Approve a draft or return it to its drafter: the unit head.
    ApproveOutgoing,
    /// Sign an approved document: the assigned signer, the target's owner, a leader.
    SignOutgoing,
    /// Number, date, seal and release a signed document, or record one issued on paper, or
    /// recall a released one: the unit's clerk.
    IssueOutgoing,
    /// Recall a released document: the unit's clerks and leaders.
    RecallOutgoing,
    /// Make an electronic copy (sao y, sao lục) of a document the target unit holds, signed
    /// with its seal: the unit's clerks, as they keep the seal (Decree 30/2020 Art. 25-26).
    CopyDocument,
    /// Read the audit log of what was done in the target unit's subtree.
    ReadAudit,
    /// Read the ratio reports of the target unit and the units below it.
    ReadReports,
    /// Read the handling reports (Decree 30/2020 Appendix VI part V) of the target unit: its
    /// leaders and clerks, who chase the handling, and auditors and admins over their
    /// subtree.
    ReadHandlingReport,
    /// List the certificates of the target unit's subtree: owners, validity, where the keys
    /// are kept (the certificate inventory).
    ReadCertificates,
    /// Delegate one's own assigning or signing to a deputy, or revoke such a delegation: the
    /// target's owner, a leader, on their own roles alone.
    Delegate,
    /// See a delegation (the target names its principal).
    ReadDelegation,
}

impl Action {
    /// Whether a delegation with `powers` covers this action.
    fn delegated_by(self, powers: Powers) -> bool {
        match self {
            Action::AssignIncoming => powers.assign,
            Action::SignOutgoing => powers.sign,
            _ => false,
        }
    }
}

/// Someone a document was handed to: a person, or a unit whose leaders and specialists then
/// act for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Assignee {
    /// One official.
    User(UserId),
    /// A unit, typically a department below the receiving unit.
    Unit(UnitId),
}

/// Who an object was handed to; empty for objects that are not handled (units, users, files)
/// and for documents not yet assigned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handling {
    /// The one in charge (chủ trì).
    pub lead: Option<Assignee>,
    /// Those who support the lead (phối hợp).
    pub co_handlers: Vec<Assignee>,
}

/// Where the object acted on lives: the path of its unit (for a unit, its own path; for a new
/// unit, its parent's path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Path of the unit the object belongs to.
    pub unit_path: UnitPath,
    /// Who the object was handed to.
    pub handling: Handling,
    /// The person the object belongs to, for personal objects such as a signing key.
    pub owner: Option<UserId>,
}

impl Target {
    /// An object living in the unit with this path.
    pub fn in_unit(unit_path: UnitPath) -> Self {
        Self {
            unit_path,
            handling: Handling::default(),
            owner: None,
        }
    }

    /// A personal object of `owner`, who belongs to the unit with this path.
    pub fn personal(unit_path: UnitPath, owner: UserId) -> Self {
        Self {
            owner: Some(owner),
            ..Self::in_unit(unit_path)
        }
    }

    /// A document of the unit with this path, handed to these assignees.
    pub fn handled(unit_path: UnitPath, handling: Handling) -> Self {
        Self {
            handling,
            ..Self::in_unit(unit_path)
        }
    }

    /// The unit itself, or an object living in it.
    pub fn unit(unit: &Unit) -> Self {
        Self::in_unit(unit.path.clone())
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AccessError {
    /// The object is outside what the actor may see; report it as not existing.
    #[error("not found")]
    NotFound,
    /// The actor sees the object but their roles do not allow the action.
    #[error("your roles do not allow this action")]
    Forbidden,
}

impl Actor {
    /// The assignees this actor is or acts for: themselves, and their unit when their roles
    /// let them act for it (leaders and specialists). Lists of handed-over documents are
    /// filtered by it.
    pub fn assignee_identities(&self) -> Vec<Assignee> {
        let mut ids = vec![Assignee::User(self.user_id)];
        if self.has_role(Role::Leader) || self.has_role(Role::Specialist) {
            ids.push(Assignee::Unit(self.unit_id));
        }
        ids
    }

    fn acts_as(&self, assignee: Assignee) -> bool {
        self.assignee_identities().contains(&assignee)
    }
}

/// Decides whether `actor` may perform `action` on an object located at `target`: on their
/// own roles and unit, or else as deputy under a delegation in force whose principal could.
pub fn authorize(actor: &Actor, action: Action, target: &Target) -> Result<Authority, AccessError> {
    let own = authorize_own(actor, action, target);
    if own.is_ok() {
        return Ok(Authority::Own);
    }
    actor
        .delegations
        .iter()
        .filter(|d| action.delegated_by(d.powers))
        // The principal's own rights only, never theirs as someone's deputy: nothing passes
        // on twice.
        .find(|d| authorize_own(&d.principal, action, target).is_ok())
        .map(|d| Authority::Delegated {
            delegation: d.id,
            principal: d.principal.user_id,
        })
        .ok_or_else(|| own.unwrap_err())
}

/// What the actor's own roles and unit allow, delegations aside.
fn authorize_own(actor: &Actor, action: Action, target: &Target) -> Result<(), AccessError> {
    let handling = &target.handling;
    let is_lead = handling.lead.is_some_and(|a| actor.acts_as(a));
    let is_handler = is_lead || handling.co_handlers.iter().any(|&a| actor.acts_as(a));
    if !is_handler && !actor.visible_scope().contains(&target.unit_path) {
        return Err(AccessError::NotFound);
    }
    let own_unit = target.unit_path == actor.unit_path;
    let allowed = match action {
        Action::ReadUnit
        | Action::ReadUser
        | Action::ReadFile
        | Action::ReadIncoming
        | Action::ReadOutgoing
        | Action::VerifyDocument => true,
        // Visibility already confines an admin to their subtree.
        Action::CreateUnit | Action::UpdateUnit | Action::CreateUser | Action::UpdateUser => {
            actor.has_role(Role::Admin)
        }
        Action::UploadFile => {
            own_unit
                && [Role::Clerk, Role::Leader, Role::Specialist]
                    .into_iter()
                    .any(|r| actor.has_role(r))
        }
        Action::WatchInterchange => {
            (own_unit && actor.has_role(Role::Clerk))
                || actor.has_role(Role::Admin)
                || actor.has_role(Role::Auditor)
        }
        Action::ReceiveIncoming | Action::RegisterIncoming | Action::ReturnIncoming => {
            own_unit && actor.has_role(Role::Clerk)
        }
        Action::AssignIncoming => own_unit && actor.has_role(Role::Leader),
        Action::RecordProgress => is_handler,
        Action::CompleteIncoming | Action::ForwardIncoming => is_lead,
        Action::UsePersonalKey | Action::SignOutgoing => {
            target.owner == Some(actor.user_id) && actor.has_role(Role::Leader)
        }
        Action::DraftOutgoing => {
            own_unit && (actor.has_role(Role::Specialist) || actor.has_role(Role::Leader))
        }
        Action::ReviseOutgoing => target.owner == Some(actor.user_id),
        Action::CommentOutgoing => {
            own_unit
                && [Role::Clerk, Role::Leader, Role::Specialist]
                    .into_iter()
                    .any(|r| actor.has_role(r))
        }
        Action::ApproveOutgoing => own_unit && actor.has_role(Role::Leader),
        Action::IssueOutgoing | Action::CopyDocument => own_unit && actor.has_role(Role::Clerk),
        Action::RecallOutgoing => {
            own_unit && (actor.has_role(Role::Clerk) || actor.has_role(Role::Leader))
        }
        Action::ReadAudit | Action::ReadReports | Action::ReadCertificates => {
            actor.has_role(Role::Auditor) || actor.has_role(Role::Admin)
        }
        Action::ReadHandlingReport => {
            actor.has_role(Role::Auditor)
                || actor.has_role(Role::Admin)
                || (own_unit && (actor.has_role(Role::Leader) || actor.has_role(Role::Clerk)))
        }
        Action::Delegate => target.owner == Some(actor.user_id) && actor.has_role(Role::Leader),
        Action::ReadDelegation => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(AccessError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [Action; 8] = [
        Action::ReadUnit,
        Action::CreateUnit,
        Action::UpdateUnit,
        Action::ReadUser,
        Action::CreateUser,
        Action::UpdateUser,
        Action::UploadFile,
        Action::ReadFile,
    ];

    fn path(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap()
    }

    /// The actor works in district `/1/2/`: its parent is the province `/1/`, its sibling the
    /// district `/1/3/`, its child the commune `/1/2/5/`.
    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: UserId::new(10).unwrap(),
            unit_id: UnitId::new(2).unwrap(),
            unit_path: path("/1/2/"),
            roles: roles.iter().copied().collect(),
            delegations: Vec::new(),
        }
    }

    /// One letter per action in `ACTIONS` order: `o` allowed, `f` forbidden, `n` not found.
    fn check(roles: &[Role], target: &str, expected: &str) {
        let actor = actor(roles);
        let target = Target::in_unit(path(target));
        let got: String = ACTIONS
            .iter()
            .map(|&a| match authorize(&actor, a, &target) {
                Ok(_) => 'o',
                Err(AccessError::Forbidden) => 'f',
                Err(AccessError::NotFound) => 'n',
            })
            .collect();
        assert_eq!(got, expected, "roles {roles:?} on {target:?}");
    }

    const OWN: &str = "/1/2/";
    const PARENT: &str = "/1/";
    const SIBLING: &str = "/1/3/";
    const CHILD: &str = "/1/2/5/";
    const NOTHING: &str = "nnnnnnnn";

    #[test]
    fn admin_manages_own_unit_and_subtree() {
        let r = &[Role::Admin];
        check(r, OWN, "oooooofo");
        check(r, CHILD, "oooooofo");
        check(r, "/1/2/5/8/", "oooooofo");
        check(r, PARENT, NOTHING);
        check(r, SIBLING, NOTHING);
    }

    #[test]
    fn document_roles_act_in_own_unit_only() {
        for role in [Role::Clerk, Role::Leader, Role::Specialist] {
            check(&[role], OWN, "offoffoo");
            check(&[role], PARENT, NOTHING);
            check(&[role], SIBLING, NOTHING);
            check(&[role], CHILD, NOTHING);
        }
    }

    #[test]
    fn auditor_reads_own_unit_and_subtree() {
        let r = &[Role::Auditor];
        check(r, OWN, "offofffo");
        check(r, CHILD, "offofffo");
        check(r, PARENT, NOTHING);
        check(r, SIBLING, NOTHING);
    }

    #[test]
    fn user_without_roles_only_reads_own_unit() {
        check(&[], OWN, "offofffo");
        check(&[], CHILD, NOTHING);
        check(&[], PARENT, NOTHING);
    }

    #[test]
    fn roles_combine() {
        let r = &[Role::Clerk, Role::Auditor];
        check(r, OWN, "offoffoo");
        // The auditor role reveals the child, but uploads happen only in one's own unit.
        check(r, CHILD, "offofffo");
        check(r, SIBLING, NOTHING);
    }

    #[test]
    fn leaders_and_clerks_read_their_own_units_handling_report_auditors_their_subtrees() {
        let action = Action::ReadHandlingReport;
        for (roles, own, child) in [
            (&[Role::Auditor][..], Ok(Authority::Own), Ok(Authority::Own)),
            (&[Role::Admin], Ok(Authority::Own), Ok(Authority::Own)),
            (
                &[Role::Leader],
                Ok(Authority::Own),
                Err(AccessError::NotFound),
            ),
            (
                &[Role::Clerk],
                Ok(Authority::Own),
                Err(AccessError::NotFound),
            ),
            (
                &[Role::Specialist],
                Err(AccessError::Forbidden),
                Err(AccessError::NotFound),
            ),
        ] {
            let a = actor(roles);
            let of = |p: &str| authorize(&a, action, &Target::in_unit(path(p)));
            assert_eq!(of(OWN), own, "{roles:?}");
            assert_eq!(of(CHILD), child, "{roles:?}");
            assert_eq!(of(PARENT), Err(AccessError::NotFound), "{roles:?}");
        }
    }

    #[test]
    fn auditors_and_admins_read_the_audit_log_reports_and_certificates_of_their_subtree_only() {
        for action in [
            Action::ReadAudit,
            Action::ReadReports,
            Action::ReadCertificates,
        ] {
            for (roles, own, child) in [
                (&[Role::Auditor][..], Ok(Authority::Own), Ok(Authority::Own)),
                (&[Role::Admin], Ok(Authority::Own), Ok(Authority::Own)),
                (
                    &[Role::Clerk],
                    Err(AccessError::Forbidden),
                    Err(AccessError::NotFound),
                ),
                (
                    &[Role::Leader, Role::Specialist],
                    Err(AccessError::Forbidden),
                    Err(AccessError::NotFound),
                ),
            ] {
                let a = actor(roles);
                assert_eq!(
                    authorize(&a, action, &Target::in_unit(path(OWN))),
                    own,
                    "{roles:?}"
                );
                assert_eq!(
                    authorize(&a, action, &Target::in_unit(path(CHILD))),
                    child,
                    "{roles:?}"
                );
                assert_eq!(
                    authorize(&a, action, &Target::in_unit(path(PARENT))),
                    Err(AccessError::NotFound),
                    "{roles:?}"
                );
            }
        }
    }

    #[test]
    fn path_prefix_is_not_string_prefix() {
        // `/1/21/` starts with the characters `/1/2` but is a sibling, not a child.
        check(&[Role::Admin], "/1/21/", NOTHING);
        check(&[Role::Auditor], "/1/21/", NOTHING);
    }

    const INCOMING: [Action; 9] = [
        Action::ReceiveIncoming,
        Action::ReadIncoming,
        Action::RegisterIncoming,
        Action::ReturnIncoming,
        Action::AssignIncoming,
        Action::RecordProgress,
        Action::CompleteIncoming,
        Action::VerifyDocument,
        Action::ForwardIncoming,
    ];

    /// Like [`check`], over the `INCOMING` actions and for any actor and target.
    fn check_incoming(actor: &Actor, target: &Target, expected: &str) {
        let got: String = INCOMING
            .iter()
            .map(|&a| match authorize(actor, a, target) {
                Ok(_) => 'o',
                Err(AccessError::Forbidden) => 'f',
                Err(AccessError::NotFound) => 'n',
            })
            .collect();
        assert_eq!(got, expected, "{actor:?} on {target:?}");
    }

    #[test]
    fn clerks_receive_and_register_leaders_assign_in_their_own_unit() {
        let unassigned = Target::in_unit(path(OWN));
        check_incoming(&actor(&[Role::Clerk]), &unassigned, "oooofffof");
        check_incoming(&actor(&[Role::Leader]), &unassigned, "foffoffof");
        check_incoming(&actor(&[Role::Specialist]), &unassigned, "fofffffof");
        check_incoming(&actor(&[Role::Auditor]), &unassigned, "fofffffof");
        check_incoming(
            &actor(&[Role::Auditor]),
            &Target::in_unit(path(CHILD)),
            "fofffffof",
        );
        for role in [Role::Clerk, Role::Leader, Role::Admin] {
            check_incoming(
                &actor(&[role]),
                &Target::in_unit(path(SIBLING)),
                "nnnnnnnnn",
            );
        }
        check_incoming(
            &actor(&[Role::Clerk]),
            &Target::in_unit(path(CHILD)),
            "nnnnnnnnn",
        );
    }

    #[test]
    fn assignees_see_and_handle_what_they_were_handed() {
        let me = actor(&[Role::Specialist]);
        let department = UnitId::new(5).unwrap();
        let lead_me = Handling {
            lead: Some(Assignee::User(me.user_id)),
            co_handlers: vec![],
        };
        // A document of the parent unit, handed to this specialist: visible, and theirs to
        // handle and complete.
        check_incoming(&me, &Target::handled(path(PARENT), lead_me), "fofffoooo");
        let co_me = Handling {
            lead: Some(Assignee::Unit(department)),
            co_handlers: vec![Assignee::User(me.user_id)],
        };
        check_incoming(&me, &Target::handled(path(PARENT), co_me), "fofffofof");
        // A unit as lead: its leaders and specialists act for it, its clerk does not.
        let child_actor = |roles: &[Role]| Actor {
            user_id: UserId::new(11).unwrap(),
            unit_id: department,
            unit_path: path(CHILD),
            roles: roles.iter().copied().collect(),
            delegations: Vec::new(),
        };
        let lead_department = Handling {
            lead: Some(Assignee::Unit(department)),
            co_handlers: vec![],
        };
        let target = Target::handled(path(OWN), lead_department);
        check_incoming(&child_actor(&[Role::Specialist]), &target, "fofffoooo");
        check_incoming(&child_actor(&[Role::Leader]), &target, "fofffoooo");
        check_incoming(&child_actor(&[Role::Clerk]), &target, "nnnnnnnnn");
        // Someone else in the receiving unit sees the document but may not handle it.
        check_incoming(&actor(&[Role::Specialist]), &target, "fofffffof");
    }

    #[test]
    fn a_personal_key_is_its_leader_owners_alone() {
        let me = actor(&[Role::Leader]);
        let mine = Target::personal(path(OWN), me.user_id);
        assert_eq!(
            authorize(&me, Action::UsePersonalKey, &mine),
            Ok(Authority::Own)
        );
        let colleague = Target::personal(path(OWN), UserId::new(11).unwrap());
        assert_eq!(
            authorize(&me, Action::UsePersonalKey, &colleague),
            Err(AccessError::Forbidden)
        );
        for roles in [&[Role::Admin][..], &[Role::Clerk], &[Role::Specialist], &[]] {
            let not_leader = Actor {
                roles: roles.iter().copied().collect(),
                ..me.clone()
            };
            assert_eq!(
                authorize(&not_leader, Action::UsePersonalKey, &mine),
                Err(AccessError::Forbidden),
                "{roles:?}"
            );
        }
        let admin_above = Actor {
            roles: [Role::Admin, Role::Leader].into_iter().collect(),
            unit_path: path(PARENT),
            user_id: UserId::new(12).unwrap(),
            ..me.clone()
        };
        assert_eq!(
            authorize(&admin_above, Action::UsePersonalKey, &mine),
            Err(AccessError::Forbidden)
        );
        assert_eq!(
            authorize(&me, Action::UsePersonalKey, &Target::in_unit(path(OWN))),
            Err(AccessError::Forbidden)
        );
    }

    #[test]
    fn visible_scope_matches_authorize() {
        assert_eq!(
            actor(&[Role::Clerk]).visible_scope(),
            VisibleScope::Unit(UnitId::new(2).unwrap())
        );
        assert_eq!(
            actor(&[Role::Auditor]).visible_scope(),
            VisibleScope::Subtree(path("/1/2/"))
        );
        for roles in [&[Role::Clerk][..], &[Role::Admin], &[Role::Auditor], &[]] {
            let a = actor(roles);
            for target in [OWN, PARENT, SIBLING, CHILD, "/1/21/"] {
                let visible = a.visible_scope().contains(&path(target));
                let read = authorize(&a, Action::ReadUnit, &Target::in_unit(path(target)));
                assert_eq!(visible, read.is_ok(), "{roles:?} {target}");
            }
        }
    }

    const OUTGOING: [Action; 9] = [
        Action::DraftOutgoing,
        Action::ReadOutgoing,
        Action::ReviseOutgoing,
        Action::CommentOutgoing,
        Action::ApproveOutgoing,
        Action::SignOutgoing,
        Action::IssueOutgoing,
        Action::RecallOutgoing,
        Action::CopyDocument,
    ];

    fn check_outgoing(actor: &Actor, target: &Target, expected: &str) {
        let got: String = OUTGOING
            .iter()
            .map(|&a| match authorize(actor, a, target) {
                Ok(_) => 'o',
                Err(AccessError::Forbidden) => 'f',
                Err(AccessError::NotFound) => 'n',
            })
            .collect();
        assert_eq!(got, expected, "{actor:?} on {target:?}");
    }

    #[test]
    fn drafters_revise_their_drafts_heads_approve_signers_sign_clerks_issue() {
        let me = UserId::new(10).unwrap();
        let someone = UserId::new(11).unwrap();
        let mine = Target::personal(path(OWN), me);
        let theirs = Target::personal(path(OWN), someone);
        check_outgoing(&actor(&[Role::Specialist]), &mine, "oooofffff");
        check_outgoing(&actor(&[Role::Specialist]), &theirs, "oofofffff");
        check_outgoing(&actor(&[Role::Leader]), &mine, "oooooofof");
        // Only the assigned signer signs, and only with the leader's role.
        check_outgoing(&actor(&[Role::Leader]), &theirs, "oofooffof");
        check_outgoing(&actor(&[Role::Clerk]), &theirs, "fofoffooo");
        check_outgoing(&actor(&[Role::Admin]), &mine, "fooffffff");
        check_outgoing(
            &actor(&[Role::Auditor]),
            &Target::in_unit(path(CHILD)),
            "fofffffff",
        );
        for role in [Role::Clerk, Role::Leader, Role::Specialist] {
            check_outgoing(
                &actor(&[role]),
                &Target::personal(path(SIBLING), me),
                "nnnnnnnnn",
            );
        }
    }

    /// A deputy of the district `/1/2/` holding `powers` from its leader, user 20.
    fn deputy(roles: &[Role], powers: Powers) -> (Actor, Actor) {
        let principal = Actor {
            user_id: UserId::new(20).unwrap(),
            ..actor(&[Role::Leader])
        };
        let deputy = actor(roles).with_delegations(vec![Delegated {
            id: DelegationId::new(7).unwrap(),
            principal: principal.clone(),
            powers,
        }]);
        (principal, deputy)
    }

    const BOTH: Powers = Powers {
        assign: true,
        sign: true,
    };

    #[test]
    fn a_deputy_assigns_and_signs_for_the_principal_and_the_answer_names_them() {
        let (principal, office_chief) = deputy(&[Role::Specialist], BOTH);
        let under = Ok(Authority::Delegated {
            delegation: DelegationId::new(7).unwrap(),
            principal: principal.user_id,
        });
        let unassigned = Target::in_unit(path(OWN));
        assert_eq!(
            authorize(&office_chief, Action::AssignIncoming, &unassigned),
            under
        );
        let principals = Target::personal(path(OWN), principal.user_id);
        assert_eq!(
            authorize(&office_chief, Action::SignOutgoing, &principals),
            under
        );
        // Only what was delegated, and only where the principal could act.
        let someone_elses = Target::personal(path(OWN), UserId::new(21).unwrap());
        assert_eq!(
            authorize(&office_chief, Action::SignOutgoing, &someone_elses),
            Err(AccessError::Forbidden)
        );
        assert_eq!(
            authorize(
                &office_chief,
                Action::AssignIncoming,
                &Target::in_unit(path(CHILD))
            ),
            Err(AccessError::NotFound)
        );
        assert_eq!(
            authorize(&office_chief, Action::ApproveOutgoing, &unassigned),
            Err(AccessError::Forbidden)
        );
        let (_, signs_only) = deputy(
            &[Role::Leader],
            Powers {
                assign: false,
                sign: true,
            },
        );
        assert_eq!(
            authorize(&signs_only, Action::SignOutgoing, &principals),
            under
        );
        // A leader assigns on their own authority; the delegation is not needed.
        assert_eq!(
            authorize(&signs_only, Action::AssignIncoming, &unassigned),
            Ok(Authority::Own)
        );
    }

    #[test]
    fn delegated_powers_cannot_be_delegated_again() {
        let (principal, first) = deputy(&[Role::Leader], BOTH);
        // The deputy delegates only what is their own: the principal's powers are not.
        assert_eq!(
            authorize(
                &first,
                Action::Delegate,
                &Target::personal(path(OWN), principal.user_id)
            ),
            Err(AccessError::Forbidden)
        );
        let (_, specialist) = deputy(&[Role::Specialist], BOTH);
        assert_eq!(
            authorize(
                &specialist,
                Action::Delegate,
                &Target::personal(path(OWN), specialist.user_id)
            ),
            Err(AccessError::Forbidden)
        );
        // A deputy of the first deputy gets the first deputy's own powers, not the
        // principal's.
        let second = Actor {
            user_id: UserId::new(30).unwrap(),
            ..actor(&[Role::Specialist])
        }
        .with_delegations(vec![Delegated {
            id: DelegationId::new(8).unwrap(),
            principal: first.clone(),
            powers: BOTH,
        }]);
        assert_eq!(
            authorize(
                &second,
                Action::SignOutgoing,
                &Target::personal(path(OWN), principal.user_id)
            ),
            Err(AccessError::Forbidden)
        );
        assert!(matches!(
            authorize(
                &second,
                Action::SignOutgoing,
                &Target::personal(path(OWN), first.user_id)
            ),
            Ok(Authority::Delegated { .. })
        ));
    }
}
