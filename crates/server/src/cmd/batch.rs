//! Many input files in one run of `vanthu sign` or `vanthu verify`: a bounded pool of threads
//! works through them while the calling thread reports each outcome in input order, and the
//! folders written into are flushed once at the end.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::Context;

/// How many threads to use for `inputs` files: `requested` (`--jobs`), else one per core,
/// never more than there are files.
pub fn threads(requested: Option<NonZeroUsize>, inputs: usize) -> usize {
    let wanted = requested
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    wanted.min(inputs).max(1)
}

/// Runs `work` on every item with at most `threads` running at once, and hands each result to
/// `report` on the calling thread in the order of `items`, as soon as it and every result
/// before it are done (a slow first file holds back the reports, not the work).
///
/// A hand-written queue rather than a thread-pool crate: one atomic index over a slice and a
/// channel back is all it takes, and the ordered, streaming report is what matters here.
pub fn run<'a, T, R>(
    items: &'a [T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
    mut report: impl FnMut(&'a T, R),
) where
    T: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let (done, finished) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let done = done.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                // The receiver lives until every worker is done: sending cannot fail.
                let _ = done.send((i, work(item)));
            });
        }
        // Only the workers' senders keep the channel open now.
        drop(done);
        let mut waiting: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
        let mut reported = 0;
        for (i, result) in finished {
            waiting[i] = Some(result);
            while let Some(result) = waiting.get_mut(reported).and_then(Option::take) {
                report(&items[reported], result);
                reported += 1;
            }
        }
    });
}

/// Makes the renames of finished files durable: each folder they were renamed into is
/// flushed once, however many files it received.
pub fn sync_folders<'a>(files: impl IntoIterator<Item = &'a Path>) -> anyhow::Result<()> {
    let folders: BTreeSet<PathBuf> = files
        .into_iter()
        .map(|file| match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect();
    for folder in folders {
        std::fs::File::open(&folder)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot flush the folder {}", folder.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_in_input_order_whatever_order_work_finishes_in() {
        let items: Vec<u64> = (0..40).collect();
        let mut seen = Vec::new();
        // Early items take longest, so they finish after later ones.
        run(
            &items,
            4,
            |&n| {
                std::thread::sleep(std::time::Duration::from_millis(40 - n));
                n * 2
            },
            |&n, doubled| seen.push((n, doubled)),
        );
        let expected: Vec<(u64, u64)> = items.iter().map(|&n| (n, n * 2)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn no_more_threads_than_asked_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items = vec![(); 24];
        run(
            &items,
            3,
            |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
            },
            |_, ()| {},
        );
        // Never more than three; more than one shows the files did run side by side.
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most} at once");
    }

    #[test]
    fn threads_are_bounded_by_the_files() {
        let four = NonZeroUsize::new(4);
        assert_eq!(threads(four, 2), 2);
        assert_eq!(threads(four, 9), 4);
        assert_eq!(threads(four, 0), 1);
        assert!(threads(None, 1000) >= 1);
    }

    #[test]
    fn folders_are_flushed_once_each_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pdf");
        let b = dir.path().join("b.pdf");
        sync_folders([a.as_path(), b.as_path(), Path::new("c.pdf")]).unwrap();
        let gone = dir.path().join("gone").join("d.pdf");
        let e = sync_folders([gone.as_path()]).unwrap_err();
        assert!(format!("{e:#}").contains("gone"), "{e:#}");
    }
}
