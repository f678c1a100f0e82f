//! A process-wide map of values that are expensive to compute and never change for their
//! key (parsed certificates, compressed font programs), bounded: when full it starts over
//! empty, which costs one computation per key again and never a wrong answer.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Values by key, at most `max` of them; usable as a `static`.
pub(crate) struct Memo<K, V> {
    max: usize,
    map: OnceLock<Mutex<HashMap<K, V>>>,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// An empty map keeping at most `max` values.
    pub(crate) const fn new(max: usize) -> Self {
        Memo {
            max,
            map: OnceLock::new(),
        }
    }

    /// The value kept for `key`, or the one `make` computes (kept unless `make` fails).
    /// `make` runs without the lock held, so two threads may compute the same value once
    /// each; both get equal values.
    pub(crate) fn get_or_try<Q, E>(
        &self,
        key: &Q,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(found) = self.lock().get(key) {
            return Ok(found.clone());
        }
        let value = make()?;
        let mut map = self.lock();
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(key.to_owned(), value.clone());
        Ok(value)
    }

    /// [`get_or_try`](Self::get_or_try) for a value that is always computed.
    pub(crate) fn get_or<Q>(&self, key: &Q, make: impl FnOnce() -> V) -> V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match self.get_or_try(key, || Ok::<V, std::convert::Infallible>(make())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        self.map
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_computed_once_per_key_and_the_map_starts_over_when_full() {
        static MEMO: Memo<Vec<u8>, u32> = Memo::new(2);
        let mut runs = 0;
        let mut get = |key: &[u8], value: u32| {
            MEMO.get_or_try(key, || {
                runs += 1;
                Ok::<_, ()>(value)
            })
            .unwrap()
        };
        assert_eq!(get(b"a", 1), 1);
        assert_eq!(get(b"a", 9), 1, "kept");
        assert_eq!(get(b"b", 2), 2);
        assert_eq!(get(b"c", 3), 3, "full: started over");
        assert_eq!(get(b"a", 4), 4, "computed again after the start-over");
        assert_eq!(runs, 4);
        let failed: Result<u32, &str> = MEMO.get_or_try(b"d".as_slice(), || Err("no"));
        assert_eq!(failed, Err("no"));
        assert_eq!(
            MEMO.get_or_try(b"d".as_slice(), || Ok::<_, ()>(5)),
            Ok(5),
            "a failure is not kept"
        );
    }
}
