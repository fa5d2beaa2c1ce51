//! The crate's one lock-poisoning policy: a poisoned mutex is recovered, never re-panicked.
//!
//! A `std::sync::Mutex` is poisoned when a thread panics while holding its guard. With
//! `.lock().unwrap()` every later `lock` then panics too, so one failing call task takes down
//! every other call, the endpoint's receive loop and the dialler with it. In this crate the
//! state behind a mutex is a table (dialogs, transactions, calls, buckets) or counters, and
//! every critical section is a short, non-panicking read or a single insert/remove/increment:
//! no section leaves the value half-updated, so the state a panicking task leaves behind is
//! still consistent. Hence the policy, applied everywhere in the crate through [`lock`]:
//! **recover the guard with [`PoisonError::into_inner`] and carry on.**
//!
//! Rules that keep the policy sound: keep critical sections short, never call code that may
//! panic (or `.await`) while holding a guard, and update multi-field state in one step. A
//! section that cannot keep to these rules must say why where it takes the lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock `m`, recovering the guard if another thread panicked while holding it.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::lock;

    #[test]
    fn a_panic_while_holding_the_lock_does_not_cascade() {
        let table = Arc::new(Mutex::new(HashMap::from([("call-1", 1u32)])));
        let t = table.clone();
        let crashed = std::thread::spawn(move || {
            let mut g = lock(&t);
            g.insert("call-2", 2);
            panic!("a call task fails while holding the table");
        })
        .join();
        assert!(crashed.is_err(), "the first thread panicked");
        assert!(table.is_poisoned(), "and poisoned the mutex");

        // Every other user keeps working, on another thread and on this one.
        let t = table.clone();
        let other = std::thread::spawn(move || {
            lock(&t).insert("call-3", 3);
            lock(&t).len()
        })
        .join();
        assert_eq!(other.ok(), Some(3), "another thread is not taken down");
        let mut g = lock(&table);
        g.remove("call-1");
        assert_eq!(g.get("call-2"), Some(&2), "the completed insert is kept");
        assert_eq!(g.len(), 2);
    }
}
