//! The long lane: where calls that run long finish, and when they may run.
//!
//! Nearly every call is short (well under [`LONG_CALL`]) and runs where it was
//! called, on the server's tokio workers. A call that has run [`LONG_CALL`] is
//! moved, at its next epoch yield, onto the long lane: a pool of threads at the
//! lowest OS priority. While short calls are about (one started or ended within
//! [`QUIET`]), long calls run one slice (one epoch tick, ≤ 1 ms) at a time, all
//! of them together at most one slice per [`BUSY_SPACING`]: ≤ 10% of one core,
//! however many long calls there are. On a quiet machine they run freely, on
//! every core.
//!
//! OS priority alone is not enough: on the 2-vCPU VMs weft is measured on, a
//! nice-19 or `SCHED_IDLE` spinner still raised a webhook flow's p99 latency
//! by 1.6× (the cores share caches and the hypervisor's attention), so the
//! lane also keeps long calls off the CPU while short work is waiting for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A call that has run this long is a long call (see the module docs).
pub const LONG_CALL: Duration = Duration::from_millis(10);

/// Short calls are "about" if one started or ended this recently.
const QUIET: Duration = Duration::from_millis(5);

/// While short calls are about, long calls get one slice per this interval, in total.
const BUSY_SPACING: Duration = Duration::from_millis(10);

/// The nice value of the lane's threads (Linux): the lowest priority, whose
/// CPU share against a normal thread is 15 to 1024.
const LANE_NICE: i32 = 19;

#[derive(Default)]
pub(super) struct Lane {
    pool: OnceLock<Option<tokio::runtime::Runtime>>,
    pace: Pace,
}

/// When long calls may run. Cheap to clone (the epoch callback holds one).
#[derive(Clone)]
pub(super) struct Pace(Arc<PaceInner>);

struct PaceInner {
    origin: Instant,
    /// When a short call last started or ended, in µs since `origin`.
    last_short: AtomicU64,
    /// The next free slice while short calls are about.
    next_slot: Mutex<Instant>,
}

impl Default for Pace {
    fn default() -> Self {
        let origin = Instant::now();
        Self(Arc::new(PaceInner { origin, last_short: AtomicU64::new(0), next_slot: Mutex::new(origin) }))
    }
}

impl Pace {
    /// A short call starts or ends now.
    pub(super) fn note_short(&self) {
        let micros = self.0.origin.elapsed().as_micros() as u64;
        self.0.last_short.fetch_max(micros, Ordering::Relaxed);
    }

    /// Called by a long call at each tick: `None` to go on at once (no short
    /// call about), or the instant its next slice begins.
    pub(super) fn wait_for_slice(&self, now: Instant) -> Option<Instant> {
        let last = self.0.origin + Duration::from_micros(self.0.last_short.load(Ordering::Relaxed));
        if now.saturating_duration_since(last) >= QUIET {
            return None;
        }
        let mut next = self.0.next_slot.lock().unwrap_or_else(|e| e.into_inner());
        let slot = (*next).max(now);
        *next = slot + BUSY_SPACING;
        Some(slot)
    }
}

impl Lane {
    pub(super) fn pace(&self) -> Pace {
        self.pace.clone()
    }

    /// Run a call's `work`; it moves to the lane's threads once `long` is set.
    pub(super) fn run<F>(&self, work: F, long: Arc<AtomicBool>) -> impl Future<Output = F::Output> + '_
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.pace.note_short();
        Demotable { local: Some(Box::pin(work)), long, lane: self, moved: None }
    }

    /// Stop the lane's threads (without waiting; nothing runs there by then).
    pub(super) fn shut_down(&mut self) {
        if let Some(Some(pool)) = self.pool.take() {
            pool.shutdown_background();
        }
    }

    fn pool(&self) -> Option<&tokio::runtime::Handle> {
        self.pool.get_or_init(start_pool).as_ref().map(|pool| pool.handle())
    }
}

/// A call's work: runs where it is first polled until the epoch callback
/// marks it long; then, at that suspension, it is spawned onto the lane and
/// awaited there. Dropping it (a cancelled run) aborts it there.
struct Demotable<'a, F: Future> {
    local: Option<Pin<Box<F>>>,
    long: Arc<AtomicBool>,
    lane: &'a Lane,
    moved: Option<AbortOnDrop<F::Output>>,
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<F> Future for Demotable<'_, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if let Some(task) = &mut this.moved {
            return Pin::new(&mut task.0).poll(cx).map(|joined| match joined {
                Ok(output) => output,
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    // Only a shut-down lane cancels, and the lane lives as
                    // long as the runtime this call borrows.
                    Err(e) => panic!("the long lane dropped a running call: {e}"),
                },
            });
        }
        let local = this.local.as_mut().expect("a call polled after it finished");
        let polled = local.as_mut().poll(cx);
        if polled.is_ready() {
            this.lane.pace.note_short();
        } else if this.long.load(Ordering::Relaxed)
            && let Some(pool) = this.lane.pool()
        {
            let work = this.local.take().expect("checked above");
            this.moved = Some(AbortOnDrop(pool.spawn(work)));
            return Pin::new(this).poll(cx);
        }
        polled
    }
}

/// The lane's threads, one per core, or `None` (logged) when they cannot be
/// started: long calls then finish where they are, still paced.
fn start_pool() -> Option<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name("weft-long")
        .on_thread_start(lower_thread_priority)
        .enable_all()
        .build();
    built.map_err(|e| tracing::warn!("cannot start the long lane, long calls stay where they are: {e}")).ok()
}

fn lower_thread_priority() {
    // On Linux the nice value is per thread, and `PRIO_PROCESS` with no id
    // is the calling thread.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, LANE_NICE) {
        tracing::warn!("cannot lower the priority of a long-lane thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_calls_are_paced_only_while_short_calls_are_about() {
        let pace = Pace::default();
        let now = Instant::now() + Duration::from_secs(1);
        assert_eq!(pace.wait_for_slice(now), None, "nothing short has run: go on");
        pace.note_short();
        let now = Instant::now();
        let first = pace.wait_for_slice(now).expect("a short call just ran");
        let second = pace.wait_for_slice(now).expect("still about");
        assert_eq!((first, second - first), (now, BUSY_SPACING), "slices are spaced, for all long calls together");
        assert_eq!(pace.wait_for_slice(now + QUIET + Duration::from_millis(1)), None, "quiet again");
    }
}
