//! Fixtures shared by the unit tests of this crate.

use vanthu_domain::{Name, Role, Roles, Unit, UnitCode, UnitId, UnitLevel, User, Username};

use crate::{CertificateOwner, CertificatePurpose, Database, NewCertificate, NewUnit, NewUser};

/// A personal certificate record of `owner`, valid for a year from now, whose PEM is a
/// placeholder naming `serial`: the store does not parse it.
pub(crate) fn personal_certificate(owner: CertificateOwner, serial: &str) -> NewCertificate {
    let not_before = crate::time::now();
    NewCertificate {
        owner,
        purpose: CertificatePurpose::Personal,
        subject: "CN=Lê Văn Thắng".into(),
        serial: serial.into(),
        not_before,
        not_after: not_before + chrono::TimeDelta::days(365),
        cert_pem: format!("certificate {serial}"),
        chain_pem: String::new(),
    }
}

/// A province with two districts; the first district has a commune.
pub(crate) struct Tree {
    pub province: Unit,
    pub district: Unit,
    pub sibling: Unit,
    pub commune: Unit,
}

pub(crate) fn new_unit(parent: Option<&Unit>, code: &str, level: UnitLevel) -> NewUnit {
    NewUnit {
        parent_id: parent.map(|p| p.id),
        code: UnitCode::parse(code).unwrap(),
        name: Name::parse(&format!("Unit {code}")).unwrap(),
        level,
    }
}

pub(crate) fn tree(db: &Database) -> Tree {
    let province = db
        .insert_unit(None, &new_unit(None, "000.00.00.H26", UnitLevel::Province))
        .unwrap();
    let district = db
        .insert_unit(
            None,
            &new_unit(Some(&province), "000.00.31.H26", UnitLevel::District),
        )
        .unwrap();
    let sibling = db
        .insert_unit(
            None,
            &new_unit(Some(&province), "000.00.32.H26", UnitLevel::District),
        )
        .unwrap();
    let commune = db
        .insert_unit(
            None,
            &new_unit(Some(&district), "000.31.01.H26", UnitLevel::Commune),
        )
        .unwrap();
    Tree {
        province,
        district,
        sibling,
        commune,
    }
}

pub(crate) fn new_user(username: &str, unit: UnitId, roles: &[Role]) -> NewUser {
    NewUser {
        username: Username::parse(username).unwrap(),
        display_name: Name::parse(&format!("User {username}")).unwrap(),
        unit_id: unit,
        roles: roles.iter().copied().collect::<Roles>(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${username}"),
    }
}

pub(crate) fn user(db: &Database, username: &str, unit: &Unit, roles: &[Role]) -> User {
    db.insert_user(None, &new_user(username, unit.id, roles))
        .unwrap()
}

/// Runs `f` on `threads` threads that a barrier releases at once, so the calls really
/// overlap; returns their results in thread order.
pub(crate) fn race<T: Send + 'static>(
    threads: usize,
    f: impl Fn() -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (f, barrier) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                f()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}
