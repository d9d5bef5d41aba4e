//! Where an algorithm's sequential parts run.

/// Runs `op` on a worker thread of the current rayon pool (directly, if this thread is one).
///
/// Called from outside the pool (the `ekg` binary's main thread), every parallel section hands
/// its work to the pool and blocks until a worker has done it and woken the caller: two thread
/// wake-ups per section, tens of microseconds on a virtual machine. Local moving opens two
/// sections per batch of a few thousand nodes, thousands per level. Run on a worker, a section
/// goes onto that worker's own deque, and the others steal from it while they still spin.
pub fn on_pool<R: Send>(op: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        op()
    } else {
        rayon::join(op, || ()).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_a_worker_from_outside_the_pool_and_in_place_inside_it() {
        assert_eq!(rayon::current_thread_index(), None, "the test harness thread is not a worker");
        assert!(on_pool(rayon::current_thread_index).is_some());
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        pool.install(|| {
            let here = rayon::current_thread_index();
            assert_eq!(on_pool(rayon::current_thread_index), here, "already on a worker: run in place");
        });
    }
}
