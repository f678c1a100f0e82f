//! The command line beside the library in `vanthu bench pades`: the same files signed and
//! verified by `vanthu` child processes, one process per file and one process for a batch,
//! next to the in-process rate of the same run. Each figure is given by the wall clock (what a
//! clerk's script waits for: start-up, the disk's flushes and all) and per CPU-second (all
//! threads of the process), which the neighbours on a shared machine disturb less.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{measure, ChildCost, KeyFiles, Rates};

/// Batches write real files: at most this many bytes of output per batch run.
const BATCH_BYTES: u64 = 256 << 20;
/// Fewest files in a batch, so thread start-up and the final flush are spread over several.
const BATCH_MIN: u64 = 8;

/// What the child processes do to each file.
#[derive(Clone, Copy)]
pub(super) enum Operation {
    /// `vanthu sign FILES --out-dir DIR` with the development key, B-B.
    Sign,
    /// `vanthu verify FILES --offline` against the development root.
    Verify,
}

/// Files per second for one file size and operation.
pub(super) struct CliRates {
    /// Library calls on one thread, no process start, nothing written to disk.
    pub in_process: Rates,
    /// One `vanthu` process per file, one after another.
    pub per_process: Rates,
    /// One `vanthu` process for the batch, `--jobs 1`.
    pub batch_one: Rates,
    /// One `vanthu` process for the batch, one job per core (None on a single core).
    pub batch_all: Option<Rates>,
}

/// Runs the child processes; knows where the key, the trust root and the scratch folders are.
pub(super) struct Children<'a> {
    exe: PathBuf,
    keys: &'a KeyFiles,
    dir: &'a Path,
    budget: Duration,
    cores: usize,
}

impl<'a> Children<'a> {
    pub fn new(keys: &'a KeyFiles, dir: &'a Path, budget: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            exe: std::env::current_exe().context("cannot find the vanthu binary")?,
            keys,
            dir,
            budget,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    /// Mean wall time of `vanthu --version`: process start-up and nothing else.
    pub fn start_up(&self) -> anyhow::Result<Duration> {
        let (n, cost) = self.repeat(|| {
            let mut cmd = Command::new(&self.exe);
            cmd.arg("--version");
            cmd
        })?;
        Ok(cost.wall / n)
    }

    /// `operation` on `input` (`size` bytes) by child processes, beside `in_process`, the
    /// library's rates on the same file in this run.
    pub fn rates(
        &self,
        operation: Operation,
        input: &Path,
        size: u64,
        in_process: Rates,
    ) -> anyhow::Result<CliRates> {
        let inputs = self.dir.join("cli-in");
        let outputs = self.dir.join("cli-out");
        fresh_folder(&inputs)?;
        fresh_folder(&outputs)?;

        let (n, cost) = self.repeat(|| self.command(operation, &[input], &outputs, None))?;
        let per_process = cost.rates(f64::from(n));

        // As many files as the library gets through in the budget, so a batch runs about as
        // long; hard links, so only the outputs take disk space.
        let count = ((in_process.wall * self.budget.as_secs_f64()) as u64)
            .min(BATCH_BYTES / size.max(1))
            .max(BATCH_MIN);
        let files: Vec<PathBuf> = (0..count)
            .map(|i| {
                let file = inputs.join(format!("f{i:05}.pdf"));
                std::fs::hard_link(input, &file).map(|()| file)
            })
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot link inputs in {}", inputs.display()))?;
        let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let batch = |jobs: usize| -> anyhow::Result<Rates> {
            fresh_folder(&outputs)?;
            let cost = measure(self.command(operation, &files, &outputs, Some(jobs)))?;
            Ok(cost.rates(count as f64))
        };
        let batch_one = batch(1)?;
        let batch_all = (self.cores > 1).then(|| batch(self.cores)).transpose()?;
        std::fs::remove_dir_all(&inputs)?;
        std::fs::remove_dir_all(&outputs)?;
        Ok(CliRates {
            in_process,
            per_process,
            batch_one,
            batch_all,
        })
    }

    fn command(
        &self,
        operation: Operation,
        files: &[&Path],
        outputs: &Path,
        jobs: Option<usize>,
    ) -> Command {
        let mut cmd = Command::new(&self.exe);
        match operation {
            Operation::Sign => {
                cmd.arg("sign")
                    .args(files)
                    .arg("--out-dir")
                    .arg(outputs)
                    .arg("--key")
                    .arg(&self.keys.key)
                    .arg("--cert")
                    .arg(&self.keys.cert)
                    .arg("--chain")
                    .arg(&self.keys.chain);
            }
            Operation::Verify => {
                cmd.arg("verify")
                    .args(files)
                    .arg("--offline")
                    .arg("--trust")
                    .arg(&self.keys.root);
            }
        }
        if let Some(jobs) = jobs {
            cmd.arg("--jobs").arg(jobs.to_string());
        }
        cmd
    }

    /// Runs a fresh `command()` one after another until the budget of wall time is spent
    /// (at least three times); returns how many ran and what they cost together.
    fn repeat(&self, command: impl Fn() -> Command) -> anyhow::Result<(u32, ChildCost)> {
        let start = Instant::now();
        let mut n = 0u32;
        let mut total = ChildCost::default();
        while n < 3 || start.elapsed() < self.budget {
            let cost = measure(command())?;
            total.wall += cost.wall;
            total.cpu += cost.cpu;
            n += 1;
        }
        Ok((n, total))
    }
}

impl ChildCost {
    /// The rates of `files` files done at this cost (CPU-seconds of every thread).
    fn rates(&self, files: f64) -> Rates {
        Rates {
            wall: files / self.wall.as_secs_f64(),
            cpu: files / self.cpu.as_secs_f64(),
        }
    }
}

/// An empty folder at `path`, whatever was there.
fn fresh_folder(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))
}

/// The table of one operation: a row per file size, each figure by the wall clock and, in
/// brackets, per CPU-second; the ratio is the best batch's wall-clock rate to the library's.
pub(super) fn print(title: &str, rows: &[(&str, CliRates)], cores: usize) {
    println!("{title}: files per wall-clock second (per CPU-second)");
    let all = format!("batch -j{cores}");
    println!(
        "{:>6} {:>17} {:>17} {:>17} {:>17} {:>7}",
        "file", "in-process", "per process", "batch -j1", all, "ratio"
    );
    let cell = |r: &Rates| format!("{:.1} ({:.1})", r.wall, r.cpu);
    for (label, r) in rows {
        let best = r
            .batch_all
            .map_or(r.batch_one.wall, |b| b.wall.max(r.batch_one.wall));
        println!(
            "{:>6} {:>17} {:>17} {:>17} {:>17} {:>6.0}%",
            label,
            cell(&r.in_process),
            cell(&r.per_process),
            cell(&r.batch_one),
            r.batch_all.as_ref().map_or("-".into(), cell),
            best / r.in_process.wall * 100.0,
        );
    }
}
