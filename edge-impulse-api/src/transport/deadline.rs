//! The answer deadline of an attempt, watched by one task per runtime rather than a timer per
//! attempt.
//!
//! A Tokio timer per attempt (put in the timer wheel at its first poll, taken out when the
//! attempt ends) was the largest single cost the crate added to a small call: about 1 point
//! of the small-call bench's client CPU, of which this saves about half. Here an attempt that
//! has to wait puts its deadline and waker in its runtime's [`Watcher`] (a slot taken and
//! given back under a lock nobody holds long); the watcher's one timer waits for the earliest
//! deadline, and is re-armed only when an earlier one arrives, so a stream of calls with the
//! same timeout re-arms it once. The watcher is a Tokio task on Tokio's clock: a paused clock
//! (`tokio::time::pause`) moves it as it moved the per-attempt timers. Its timer is not
//! withdrawn when the attempts end, so it may fire once for nobody.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use slab::Slab;
use tokio::runtime::{Handle, Id};
use tokio::sync::Notify;
use tokio::time::Instant;

/// `inner`, or `Err(Elapsed)` once `deadline` has passed and `inner` is still pending.
pub(crate) fn with_deadline<F: Future + Unpin>(deadline: Instant, inner: F) -> WithDeadline<F> {
    WithDeadline { inner, deadline, watch: Watch::NotYet }
}

/// The deadline passed before the answer came.
#[derive(Debug)]
pub(crate) struct Elapsed;

pub(crate) struct WithDeadline<F> {
    inner: F,
    deadline: Instant,
    watch: Watch,
}

enum Watch {
    /// Not registered yet: the first poll may already finish.
    NotYet,
    /// In the watcher's slot `slot`, with the waker given to it (to notice a new one).
    Watched { watcher: Arc<Watcher>, slot: usize, waker: Waker },
    /// No runtime to watch on (polled outside Tokio): a timer of its own, as Tokio's
    /// `timeout` would use.
    Timer(Pin<Box<tokio::time::Sleep>>),
}

impl<F: Future + Unpin> Future for WithDeadline<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(output) = Pin::new(&mut this.inner).poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match &mut this.watch {
            Watch::NotYet => {
                let Some(watcher) = Watcher::for_current_runtime() else {
                    let mut sleep = Box::pin(tokio::time::sleep_until(this.deadline));
                    let polled = sleep.as_mut().poll(cx).map(|()| Err(Elapsed));
                    this.watch = Watch::Timer(sleep);
                    return polled;
                };
                let waker = cx.waker().clone();
                let slot = watcher.watch(this.deadline, waker.clone());
                this.watch = Watch::Watched { watcher, slot, waker };
                Poll::Pending
            }
            Watch::Watched { watcher, slot, waker } => {
                if Instant::now() >= this.deadline {
                    return Poll::Ready(Err(Elapsed));
                }
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                    watcher.rewake(*slot, waker.clone());
                }
                Poll::Pending
            }
            Watch::Timer(sleep) => sleep.as_mut().poll(cx).map(|()| Err(Elapsed)),
        }
    }
}

impl<F> Drop for WithDeadline<F> {
    fn drop(&mut self) {
        if let Watch::Watched { watcher, slot, .. } = &self.watch {
            watcher.unwatch(*slot);
        }
    }
}

/// The deadlines of one runtime's attempts, and the task that wakes them.
pub(crate) struct Watcher {
    state: Mutex<Watched>,
    /// Tells the task that a deadline came earlier than the one it waits for.
    rearm: Notify,
}

#[derive(Default)]
struct Watched {
    /// Each waiting attempt's deadline, and its waker until the deadline passed.
    slots: Slab<(Instant, Option<Waker>)>,
    /// The deadline the task's timer is set for, if any.
    alarm: Option<Instant>,
}

/// The watchers of the runtimes that have one, by runtime.
static WATCHERS: Mutex<Vec<(Id, Weak<Watcher>)>> = Mutex::new(Vec::new());

thread_local! {
    /// The watcher this thread used last: a thread runs one runtime's tasks at a time, and
    /// the look-up in `WATCHERS` takes a lock shared by all threads.
    static LAST: RefCell<Option<(Id, Weak<Watcher>)>> = const { RefCell::new(None) };
}

impl Watcher {
    /// The current runtime's watcher, its task started on first use; `None` outside a runtime.
    fn for_current_runtime() -> Option<Arc<Watcher>> {
        let handle = Handle::try_current().ok()?;
        let id = handle.id();
        let cached = LAST.with(|last| match &*last.borrow() {
            Some((last_id, watcher)) if *last_id == id => watcher.upgrade(),
            _ => None,
        });
        if let Some(watcher) = cached {
            return Some(watcher);
        }
        let watcher = {
            let mut watchers = WATCHERS.lock().unwrap_or_else(PoisonError::into_inner);
            // A runtime that shut down dropped its task, and with it the watcher.
            watchers.retain(|(_, watcher)| watcher.strong_count() > 0);
            match watchers.iter().find(|(watcher_id, _)| *watcher_id == id).and_then(|(_, w)| w.upgrade()) {
                Some(watcher) => watcher,
                None => {
                    let watcher = Arc::new(Watcher { state: Mutex::new(Watched::default()), rearm: Notify::new() });
                    watchers.push((id, Arc::downgrade(&watcher)));
                    handle.spawn(Arc::clone(&watcher).run());
                    watcher
                }
            }
        };
        LAST.with(|last| *last.borrow_mut() = Some((id, Arc::downgrade(&watcher))));
        Some(watcher)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn watch(&self, deadline: Instant, waker: Waker) -> usize {
        let mut state = self.lock();
        let slot = state.slots.insert((deadline, Some(waker)));
        let sooner = state.alarm.map_or(true, |alarm| deadline < alarm);
        if sooner {
            state.alarm = Some(deadline);
        }
        drop(state);
        if sooner {
            self.rearm.notify_one();
        }
        slot
    }

    fn rewake(&self, slot: usize, waker: Waker) {
        if let Some((_, stored)) = self.lock().slots.get_mut(slot) {
            *stored = Some(waker);
        }
    }

    fn unwatch(&self, slot: usize) {
        // The waker is dropped after the lock is released.
        let entry = self.lock().slots.try_remove(slot);
        drop(entry);
    }

    /// Wakes the attempts whose deadline passed; returns the next deadline to wait for.
    fn expire(&self, now: Instant) -> Option<Instant> {
        let mut due = Vec::new();
        let mut state = self.lock();
        let mut next: Option<Instant> = None;
        for (_, (deadline, waker)) in state.slots.iter_mut() {
            if *deadline <= now {
                due.extend(waker.take());
            } else if waker.is_some() {
                next = Some(next.map_or(*deadline, |next| next.min(*deadline)));
            }
        }
        state.alarm = next;
        drop(state);
        due.into_iter().for_each(Waker::wake);
        next
    }

    /// The runtime's task: waits for the earliest deadline, wakes who is due, again.
    async fn run(self: Arc<Self>) {
        loop {
            let next = self.expire(Instant::now());
            let rearmed = self.rearm.notified();
            match next {
                Some(at) => {
                    let mut sleep = std::pin::pin!(tokio::time::sleep_until(at));
                    let mut rearmed = std::pin::pin!(rearmed);
                    std::future::poll_fn(|cx| match (sleep.as_mut().poll(cx), rearmed.as_mut().poll(cx)) {
                        (Poll::Pending, Poll::Pending) => Poll::Pending,
                        _ => Poll::Ready(()),
                    })
                    .await
                }
                None => rearmed.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::{pending, Future};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use tokio::time::Instant;

    use super::{with_deadline, Elapsed, Watcher};

    /// Pending for ever, as an answer that never comes.
    fn never() -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(pending())
    }

    /// How long `with_deadline(after)` on an answer that never comes takes to give up.
    async fn gives_up_after(after: Duration) -> Duration {
        let started = Instant::now();
        let result = with_deadline(started + after, never()).await;
        assert!(matches!(result, Err(Elapsed)));
        started.elapsed()
    }

    #[tokio::test]
    async fn an_answer_in_time_is_returned_and_its_slot_given_back() {
        let answer = with_deadline(Instant::now() + Duration::from_secs(60), Box::pin(async { 7 })).await;
        assert_eq!(answer.unwrap(), 7);
        // A pending one is watched; dropped, it leaves its slot free for the next.
        let mut waiting = with_deadline(Instant::now() + Duration::from_secs(60), never());
        assert!(futures_util::poll!(&mut waiting).is_pending());
        let watcher = Watcher::for_current_runtime().unwrap();
        let used = |watcher: &Watcher| watcher.lock().slots.len();
        assert_eq!(used(&watcher), 1);
        drop(waiting);
        assert_eq!(used(&watcher), 0);
    }

    #[tokio::test]
    async fn each_deadline_fires_at_its_own_time_whatever_order_they_came_in() {
        // The later first: the watcher waits for it, then must be re-armed for the earlier.
        let (late, early, middle) = tokio::join!(
            gives_up_after(Duration::from_millis(600)),
            gives_up_after(Duration::from_millis(100)),
            gives_up_after(Duration::from_millis(300)),
        );
        for (took, asked) in [(early, 100), (middle, 300), (late, 600)] {
            assert!(took >= Duration::from_millis(asked), "gave up after {took:?}, {asked} ms asked");
            assert!(took < Duration::from_millis(asked + 2_000), "gave up after {took:?}, {asked} ms asked");
        }
        assert!(early < middle && middle < late);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deadlines_of_calls_on_many_tasks_all_fire() {
        let tasks: Vec<_> = (0..32u64).map(|i| tokio::spawn(gives_up_after(Duration::from_millis(50 + 10 * i)))).collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let took = task.await.unwrap();
            assert!(took >= Duration::from_millis(50 + 10 * i as u64), "task {i} gave up after {took:?}");
        }
    }

    #[test]
    fn a_runtime_that_shut_down_takes_its_watcher_along_and_the_next_one_gets_its_own() {
        let first = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let watcher = first.block_on(async { Watcher::for_current_runtime().unwrap() });
        let gone = std::sync::Arc::downgrade(&watcher);
        drop(watcher);
        drop(first);
        assert!(gone.upgrade().is_none(), "the watcher went with its runtime's task");
        let second = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let took = second.block_on(gives_up_after(Duration::from_millis(50)));
        assert!(took >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn a_future_moved_to_another_task_is_woken_there() {
        let mut waiting = with_deadline(Instant::now() + Duration::from_millis(100), never());
        // Polled once here, with this task's waker...
        assert!(std::future::poll_fn(|cx: &mut Context<'_>| Poll::Ready(Pin::new(&mut waiting).poll(cx).is_pending())).await);
        // ...then awaited by another task, whose waker the watcher must use.
        let moved = tokio::time::timeout(Duration::from_secs(10), tokio::spawn(waiting)).await;
        let result = moved.expect("the watcher woke the task that awaits it now").unwrap();
        assert!(matches!(result, Err(Elapsed)));
    }
}
