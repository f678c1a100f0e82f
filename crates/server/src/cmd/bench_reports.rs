//! `vanthu bench reports`: a ratio report over millions of documents across a province's
//! units, on the configured database, printed beside the target it is read against.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use vanthu_domain::{Name, Role, Roles, UnitCode, UnitLevel, Username};
use vanthu_store::{Database, NewUnit, NewUser, ReportScope, SyntheticPeriod, Volume};

use super::bench::{machine, mark};

/// Target of issue 7: a report over 10,000,000 documents across 1,000 units.
const REPORT_TARGET: Duration = Duration::from_millis(200);

/// Options of `vanthu bench reports`.
#[derive(Debug, Args)]
pub struct ReportsBenchArgs {
    /// Database to fill (default: a fresh SQLite file in a temporary folder). Use an empty
    /// PostgreSQL database of its own: the benchmark leaves its documents there
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Documents in all (seven in ten incoming, three in ten outgoing), over one year
    #[arg(long, default_value_t = 10_000_000)]
    pub documents: u64,

    /// Units: one province and the districts and communes below it
    #[arg(long, default_value_t = 1_000)]
    pub units: u64,

    /// Reports read and timed
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
}

/// Runs the benchmark.
pub fn run(args: ReportsBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.units >= 2,
        "--units: at least a province and one unit below it"
    );
    let tmp = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.path().join("bench.db").display()));
    let db = Database::connect(&url)?;
    println!("machine: {}; database: {}", machine(), db.backend());

    let started = Instant::now();
    let (province, units) = unit_tree(&db, args.units)?;
    let clerk = db.insert_user(
        None,
        &NewUser {
            username: Username::parse("bench.clerk")?,
            display_name: Name::parse("Văn thư")?,
            unit_id: province,
            roles: [Role::Clerk].into_iter().collect::<Roles>(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2g$bm90LWEtcmVhbC1oYXNo".into(),
        },
    )?;
    let per_unit = args.documents / units.len() as u64;
    let volumes: Vec<Volume> = units
        .iter()
        .map(|&unit| {
            let incoming = per_unit * 7 / 10;
            let outgoing = per_unit - incoming;
            Volume {
                unit,
                incoming,
                processed: incoming * 9 / 10,
                outgoing,
                signed: outgoing * 8 / 10,
            }
        })
        .collect();
    let period = SyntheticPeriod {
        from: "2025-01-01".parse()?,
        to: "2025-12-31".parse()?,
    };
    db.generate_documents(period, clerk.id, &volumes)?;
    let total = per_unit * units.len() as u64;
    println!(
        "filled: {total} documents across {} units in {:.0} s (written in bulk, then counted)",
        units.len(),
        started.elapsed().as_secs_f64()
    );

    for (what, scope) in [
        (
            "a year, the province and every unit below",
            ReportScope {
                unit: province,
                subtree: true,
                from: period.from,
                to: period.to,
            },
        ),
        (
            "15 Feb to 10 Nov, every unit (loose days at both ends)",
            ReportScope {
                unit: province,
                subtree: true,
                from: "2025-02-15".parse()?,
                to: "2025-11-10".parse()?,
            },
        ),
        (
            "a year, one commune",
            ReportScope {
                unit: units[units.len() - 1],
                subtree: false,
                from: period.from,
                to: period.to,
            },
        ),
    ] {
        let mut times = Vec::with_capacity(args.repeat);
        let mut received = 0;
        for _ in 0..args.repeat.max(1) {
            let t = Instant::now();
            let counts = db.report_counts(&scope)?;
            times.push(t.elapsed());
            received = counts
                .iter()
                .map(|c| c.period.get(vanthu_reports::Metric::IncomingReceived))
                .sum::<i64>();
        }
        times.sort();
        let median = times[times.len() / 2];
        let worst = times[times.len() - 1];
        println!(
            "report, {what}: median {:.1} ms, slowest {:.1} ms (target {} ms) {} \
             [{received} incoming counted]",
            median.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
            REPORT_TARGET.as_millis(),
            mark(worst <= REPORT_TARGET)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A province with districts of about thirty communes each, `count` units in all; returns the
/// province and every unit (the province first).
fn unit_tree(
    db: &Database,
    count: u64,
) -> anyhow::Result<(vanthu_domain::UnitId, Vec<vanthu_domain::UnitId>)> {
    let unit = |parent, code: String, level| -> anyhow::Result<vanthu_domain::UnitId> {
        Ok(db
            .insert_unit(
                None,
                &NewUnit {
                    parent_id: parent,
                    name: Name::parse(&format!("Đơn vị {code}"))?,
                    code: UnitCode::parse(&code)?,
                    level,
                },
            )?
            .id)
    };
    let province = unit(None, "000.00.00.H99".into(), UnitLevel::Province)?;
    let mut all = vec![province];
    let mut district = province;
    let mut districts = 0;
    let mut communes = 0;
    while (all.len() as u64) < count {
        if communes % 30 == 0 {
            districts += 1;
            district = unit(
                Some(province),
                format!("000.00.{districts:02}.H99"),
                UnitLevel::District,
            )?;
            all.push(district);
            communes += 1;
            continue;
        }
        communes += 1;
        all.push(unit(
            Some(district),
            format!("000.{:02}.{:02}.H99", districts, communes % 30),
            UnitLevel::Commune,
        )?);
    }
    Ok((province, all))
}
