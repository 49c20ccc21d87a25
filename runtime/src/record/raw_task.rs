//! A task's allocation: its header (`M`, corun's `record::header::Header`), its body (the future,
//! then its output) and the state that its runnable, its handle and its wakers share. Layer 1
//! (the record): imports nothing of the crate; what a wake does and how the body is polled come
//! from above, through the [`Schedule`] and [`Body`] traits.
//!
//! corun's tasks run on their loop's thread; only their wakers, the handles of `Send` outputs
//! and `Handle::spawn` cross threads. So the state is split by who may touch it:
//!
//! - **scheduling** (idle, queued, running, done: `Head::sched`) is read and written only on
//!   the loop's thread, with plain loads and stores. A wake on that thread queues the task
//!   directly; a wake anywhere else hands a counted waker to the loop's mailbox
//!   ([`Schedule::wake_remote`]), and the loop wakes it again on its thread. A yield costs no
//!   atomic read-modify-write.
//! - **the reference count and the handle's part** (done, handle alive) are one atomic word,
//!   because the handle and the wakers may be anywhere. The waker of code awaiting the handle is
//!   not kept here but by the loop ([`Schedule::park_awaiter`]), for the few tasks awaited while
//!   pending: every idle task would pay two words for it. A spawn + join costs two
//!   read-modify-writes of it (the completion, the handle's drop).
//!
//! async-task, which this replaces, keeps all of it in one atomic word, so that any thread may
//! schedule and run a task: three locked instructions per yield and about a dozen per spawn +
//! join, which monoio and glommio, with plain-integer `!Send` tasks, do not pay (BENCHMARKS.md,
//! #18, round 5, with the cheaper `run()` merged: yield 21.8 -> 16.2 ns, spawn + join 71.9 ->
//! 62.2 ns).
//!
//! The loop holds one reference from the spawn until the body is gone (completed, or dropped by
//! dropping its runnable): while the body exists the allocation does, so a runnable and the
//! waker lent to a poll need no count of their own, and the last reference to go never finds a
//! body to drop (which could be on the wrong thread).

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::process::abort;
use std::ptr::{self, NonNull};
use std::sync::atomic::{fence, AtomicU32, AtomicU8, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// The future a task runs, polled with its header at hand.
///
/// A body that returns `Ready` has dropped what it owned already: the task never drops it after
/// that, and its place takes the output (a body that did not would leak, not misbehave). So a
/// body needs no tag of its own to tell a live future from a dropped one, which would cost every
/// idle task a word (#18, heap per idle task).
pub(crate) trait Body<M: 'static>: 'static {
    type Output;

    /// Polls the body of task `header` (at `task`) once; see above for `Ready`.
    fn poll(
        self: Pin<&mut Self>,
        header: &M,
        task: TaskPtr<M>,
        cx: &mut Context<'_>,
    ) -> Poll<Self::Output>;

    /// Called, on the loop's thread, just before a body that did not finish is dropped: its
    /// runnable was dropped instead of run (a loop closed with work still queued).
    fn abandon(self: Pin<&mut Self>, header: &M);
}

/// How a task's wakes reach its loop.
pub(crate) trait Schedule<M: 'static>: 'static {
    /// Whether the loop of task `header` is running on this thread. Asked at every wake.
    fn is_local(header: &M) -> bool;

    /// Queues `runnable` on its loop, which runs on this thread.
    fn call_soon(runnable: RawRunnable<M>);

    /// Hands `waker` to the loop of task `header` from another thread; the loop wakes it on its
    /// own thread. Dropping it instead (a closed loop) is fine.
    fn wake_remote(header: &M, waker: Waker);

    /// Keeps `waker`, of code awaiting the handle of task `header` (not complete when the handle
    /// looked), to be woken when the task completes, in place of the one kept before. On the
    /// loop's thread it is kept at once; from another thread it goes through the loop's mailbox
    /// with a [`Watch`] made by `watch`, and the loop wakes it at once if the task completed
    /// meanwhile.
    fn park_awaiter(header: &M, waker: &Waker, watch: impl FnOnce() -> Watch<M>);

    /// Takes the waker kept for task `header`, at its completion, on the loop's thread.
    fn take_awaiter(header: &M) -> Option<Waker>;
}

// The handle's part of `Head::state`; the rest of the word counts references.
/// The body is gone: the output (if any) is in the stage, for the handle.
const COMPLETE: u32 = 1 << 0;
/// The handle is alive: it takes the output, or drops it.
const HANDLE: u32 = 1 << 1;
/// With `COMPLETE`: the body was dropped unfinished, so there is no output.
const CLOSED: u32 = 1 << 2;
/// The handle parked a waker with the loop (set before parking): only then does the completion
/// look for one, so that the many tasks never awaited while pending do not pay for the lookup.
const AWAITED: u32 = 1 << 3;
/// One reference.
const REF: u32 = 1 << 4;
/// More references than this abort the process, as `Arc` does.
const MAX_REFS: u32 = u32::MAX / REF / 2;

// Scheduling, in `Head::sched`, on the loop's thread only.
/// Not queued, not running: a wake queues it.
const IDLE: u8 = 0;
/// A runnable of it exists (queued, or about to be).
const SCHEDULED: u8 = 1 << 0;
/// Being polled; with `SCHEDULED`, woken during the poll: queued again after it.
const RUNNING: u8 = 1 << 1;
/// The body is gone: wakes do nothing.
const DONE: u8 = 1 << 2;

/// The start of every task's allocation: what the type-erased runnable, handle and wakers use.
struct Head<M: 'static> {
    vtable: &'static Vtable<M>,
    /// `COMPLETE | HANDLE | CLOSED | AWAITED` and the reference count (`REF` each).
    state: AtomicU32,
    /// `IDLE`, `SCHEDULED`, `RUNNING`, `DONE`. Read and written only on the loop's thread (or by
    /// `Handle::spawn`'s thread before the task reaches the loop), so plain (`Relaxed`) loads and
    /// stores do: it is atomic only so that the head may be shared with other threads.
    sched: AtomicU8,
    header: M,
}

/// The functions that know the body's and the schedule's types.
struct Vtable<M: 'static> {
    run: unsafe fn(NonNull<Head<M>>),
    close: unsafe fn(NonNull<Head<M>>),
    wake: unsafe fn(NonNull<Head<M>>),
    /// Moves the output (if any) to the `Option<Output>` behind the second pointer.
    take_output: unsafe fn(NonNull<Head<M>>, *mut ()),
    /// `Schedule::park_awaiter` for the handle.
    park_awaiter: unsafe fn(NonNull<Head<M>>, &Waker),
    dealloc: unsafe fn(NonNull<Head<M>>),
}

/// A whole task: the head first, so that a pointer to it is a pointer to the head.
#[repr(C)]
struct TaskCell<M: 'static, B: Body<M>, S> {
    head: Head<M>,
    stage: UnsafeCell<Stage<M, B>>,
    _schedule: PhantomData<S>,
}

/// The body, then its output, in one place: a task holds one, the other or neither. The state
/// tells which, not a tag: the body until the loop marks the task `DONE` (`Head::sched`); then
/// the output, unless `CLOSED`, until the handle takes or drops it (`RawTask::taken`), or the
/// completion drops it when there is no handle. A tag would cost a word per task for most: an
/// idle task's body and a small output fit in one (the heap per idle task, #18).
union Stage<M: 'static, B: Body<M>> {
    body: ManuallyDrop<B>,
    output: ManuallyDrop<B::Output>,
}

/// One scheduled poll of a task: owned by the loop's ready queue until run or dropped.
/// Dropping it drops the body unfinished (see [`Body::abandon`]).
pub(crate) struct RawRunnable<M: 'static> {
    ptr: NonNull<Head<M>>,
}

// SAFETY: a runnable is made on the loop's thread (a wake there, `spawn`) and stays there, or is
// made by `Handle::spawn` for a `Send` body and sent to the loop: only such runnables cross
// threads (the remote queue carries wakers for every other wake).
unsafe impl<M: Send + Sync + 'static> Send for RawRunnable<M> {}

/// The handle's side of a task: its output, once complete.
pub(crate) struct RawTask<T, M: 'static> {
    ptr: NonNull<Head<M>>,
    /// The output was handed out (or there was none): nothing is left to drop.
    taken: bool,
    _output: PhantomData<T>,
}

// SAFETY: the handle touches only the atomic state, the header (`Send + Sync`) and the output,
// which it moves out (hence `T: Send`).
unsafe impl<T: Send, M: Send + Sync + 'static> Send for RawTask<T, M> {}
// SAFETY: `&RawTask` reads only the atomic state and the header.
unsafe impl<T, M: Sync + 'static> Sync for RawTask<T, M> {}
// The output is never pinned: the handle moves it out.
impl<T, M: 'static> Unpin for RawTask<T, M> {}

/// A task's address, for its loop's registry of live tasks: one word, not counted. It stays
/// valid while the task's body is alive (the loop's reference is held that long), which the
/// registry knows: a task is in it from a poll that left it pending until its body is dropped.
pub(crate) struct TaskPtr<M: 'static>(NonNull<Head<M>>);

impl<M: 'static> Clone for TaskPtr<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: 'static> Copy for TaskPtr<M> {}

impl<M: 'static> TaskPtr<M> {
    /// Wakes the task, as its waker would.
    ///
    /// # Safety
    ///
    /// The task's body is alive.
    pub(crate) unsafe fn wake(self) {
        // SAFETY: a live body means a live task (the loop's reference).
        unsafe { (self.0.as_ref().vtable.wake)(self.0) }
    }
}

/// Allocates a task running `body`, described by `header`: its first runnable (to queue) and its
/// handle.
///
/// # Safety
///
/// Unless `B` is `Send`, the runnable must be run or dropped on the thread of the loop that `S`
/// finds for `header` (`Schedule::is_local`), which runs every later runnable too.
pub(crate) unsafe fn allocate<M: 'static, B: Body<M>, S: Schedule<M>>(
    header: M,
    body: B,
) -> (RawRunnable<M>, RawTask<B::Output, M>) {
    let cell = Box::new(TaskCell::<M, B, S> {
        head: Head {
            vtable: &TaskCell::<M, B, S>::VTABLE,
            // The loop's reference and the handle's.
            state: AtomicU32::new(HANDLE | (2 * REF)),
            sched: AtomicU8::new(SCHEDULED),
            header,
        },
        stage: UnsafeCell::new(Stage {
            body: ManuallyDrop::new(body),
        }),
        _schedule: PhantomData,
    });
    let ptr = NonNull::from(Box::leak(cell)).cast::<Head<M>>();
    (
        RawRunnable { ptr },
        RawTask {
            ptr,
            taken: false,
            _output: PhantomData,
        },
    )
}

impl<M: 'static, B: Body<M>, S: Schedule<M>> TaskCell<M, B, S> {
    const VTABLE: Vtable<M> = Vtable {
        run: Self::run,
        close: Self::close,
        wake: Self::wake,
        take_output: Self::take_output,
        park_awaiter: Self::park_awaiter,
        dealloc: Self::dealloc,
    };

    /// # Safety
    ///
    /// `ptr` is a live task of this type.
    unsafe fn stage(ptr: NonNull<Head<M>>) -> *mut Stage<M, B> {
        // SAFETY: the head is the first field of the `repr(C)` cell.
        unsafe { (*ptr.cast::<Self>().as_ptr()).stage.get() }
    }

    /// Polls the body once, for the runnable given up by `RawRunnable::run`.
    unsafe fn run(ptr: NonNull<Head<M>>) {
        // SAFETY: the runnable stood for the loop's reference, held until `complete`.
        let head = unsafe { ptr.as_ref() };
        let header = &head.header;
        head.set_sched(RUNNING);
        // SAFETY: lent, not counted: the loop's reference outlives the poll, and `ManuallyDrop`
        // keeps this waker from giving up a reference it does not hold; a clone counts itself.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(Wakers::raw(ptr)) });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the task is live (the loop's reference).
        let stage = unsafe { Self::stage(ptr) };
        // SAFETY: a runnable stands for a task whose body is there (not `DONE`); on the loop's
        // thread (the runnable's contract), the only place the body is touched. The stage is a
        // field apart from the head, which the poll may read. The body stays in place until it
        // is dropped below.
        let body = unsafe { Pin::new_unchecked(&mut *(*stage).body) };
        match body.poll(header, TaskPtr(ptr), &mut cx) {
            Poll::Pending => {
                if head.sched() & SCHEDULED != 0 {
                    // Woken during its poll: queued again now, behind what is queued.
                    head.set_sched(SCHEDULED);
                    S::call_soon(RawRunnable { ptr });
                } else {
                    head.set_sched(IDLE);
                }
            }
            Poll::Ready(output) => {
                head.set_sched(DONE);
                // SAFETY: the body has dropped what it owned (`Body`'s contract) and is never
                // touched again (`DONE`); the output takes its place, for the handle.
                unsafe {
                    (*stage).output = ManuallyDrop::new(output);
                    Self::complete(ptr, true);
                }
            }
        }
    }

    /// Drops the body unfinished, for a runnable dropped instead of run.
    unsafe fn close(ptr: NonNull<Head<M>>) {
        // SAFETY: as in `run`.
        let head = unsafe { ptr.as_ref() };
        head.set_sched(DONE);
        // SAFETY: as in `run`.
        let stage = unsafe { Self::stage(ptr) };
        // SAFETY: as in `run`; the body is dropped in place just after, and never touched again.
        unsafe {
            Pin::new_unchecked(&mut *(*stage).body).abandon(&head.header);
            ManuallyDrop::drop(&mut (*stage).body);
            Self::complete(ptr, false);
        }
    }

    /// Tells the handle the body is gone, leaving an output if `output`, and gives up the loop's
    /// reference.
    unsafe fn complete(ptr: NonNull<Head<M>>, output: bool) {
        // SAFETY: the loop's reference is held until the end.
        let head = unsafe { ptr.as_ref() };
        let done = if output { COMPLETE } else { COMPLETE | CLOSED };
        let mut state = head.state.load(Ordering::Acquire);
        // Taken before the completion is published: an awaiter is parked on this thread, so
        // none can come between. One parked from another thread reaches this thread later and
        // finds the task complete, whether or not `AWAITED` was seen here.
        let awaiter = if state & AWAITED != 0 {
            S::take_awaiter(&head.header)
        } else {
            None
        };
        loop {
            // The usual case in one instruction: a handle to take the output.
            let next = if state & HANDLE != 0 {
                (state | done) - REF
            } else {
                state | done
            };
            match head
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & HANDLE == 0 {
            if output {
                // Nobody will take the output: dropped here, on the loop's thread.
                // SAFETY: no handle, so the output is the loop's alone.
                unsafe { ManuallyDrop::drop(&mut (*Self::stage(ptr)).output) };
            }
            // SAFETY: the loop's reference, kept for the drop.
            unsafe { drop_ref(ptr) };
        }
        // The task is not touched again: the handle may have freed it.
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
    }

    /// A wake, from any thread.
    unsafe fn wake(ptr: NonNull<Head<M>>) {
        // SAFETY: the waker holds (or lends) a reference.
        let head = unsafe { ptr.as_ref() };
        let header = &head.header;
        if S::is_local(header) {
            match head.sched() {
                IDLE => {
                    head.set_sched(SCHEDULED);
                    S::call_soon(RawRunnable { ptr });
                }
                // A task waking itself (a yield) only marks itself, and is queued after its poll.
                RUNNING => head.set_sched(RUNNING | SCHEDULED),
                _ => {}
            }
        } else if head.state.load(Ordering::Acquire) & COMPLETE == 0 {
            // A counted waker of its own for the message. SAFETY: the data `Wakers::raw` gives
            // this task, whose waker holds a reference.
            let waker = unsafe { Waker::from_raw(Wakers::<M>::clone(ptr.as_ptr().cast())) };
            S::wake_remote(header, waker);
        }
    }

    /// For a handle (holding a reference) that found the task not complete.
    unsafe fn park_awaiter(ptr: NonNull<Head<M>>, waker: &Waker) {
        // SAFETY: the handle's reference.
        let head = unsafe { ptr.as_ref() };
        if head.state.load(Ordering::Relaxed) & AWAITED == 0 {
            head.state.fetch_or(AWAITED, Ordering::AcqRel);
        }
        // SAFETY: as just above.
        S::park_awaiter(&head.header, waker, || unsafe { Watch::new(ptr) });
    }

    /// Moves the output out, for a handle that saw `COMPLETE` and has not taken it yet.
    unsafe fn take_output(ptr: NonNull<Head<M>>, out: *mut ()) {
        // SAFETY: the handle holds a reference.
        let state = unsafe { ptr.as_ref() }.state.load(Ordering::Acquire);
        // SAFETY: complete and not `CLOSED`: the output is there, and the handle's; it takes it
        // once (`RawTask::taken`).
        let output = (state & CLOSED == 0)
            .then(|| unsafe { ManuallyDrop::take(&mut (*Self::stage(ptr)).output) });
        // SAFETY: the handle passes a pointer to its `Option<B::Output>`.
        unsafe { *out.cast::<Option<B::Output>>() = output };
    }

    unsafe fn dealloc(ptr: NonNull<Head<M>>) {
        // SAFETY: the last reference is gone: nothing else can reach the task. The stage holds no
        // body (the loop's reference outlives it) and no output (the handle or the completion
        // dropped it); dropping the cell drops neither, only the head.
        drop(unsafe { Box::from_raw(ptr.cast::<Self>().as_ptr()) });
    }
}

impl<M: 'static> RawRunnable<M> {
    /// The task's header.
    pub(crate) fn header(&self) -> &M {
        // SAFETY: the runnable stands for the loop's reference.
        unsafe { &self.ptr.as_ref().header }
    }

    /// Polls the task once.
    pub(crate) fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the runnable is given up to the run, which queues another if it must.
        unsafe { (this.ptr.as_ref().vtable.run)(this.ptr) }
    }
}

impl<M: 'static> Drop for RawRunnable<M> {
    fn drop(&mut self) {
        // SAFETY: as in `run`.
        unsafe { (self.ptr.as_ref().vtable.close)(self.ptr) }
    }
}

impl<T, M: 'static> RawTask<T, M> {
    fn head(&self) -> &Head<M> {
        // SAFETY: the handle holds a reference.
        unsafe { self.ptr.as_ref() }
    }

    /// The task's header.
    pub(crate) fn header(&self) -> &M {
        &self.head().header
    }

    /// Whether the body is gone.
    pub(crate) fn is_finished(&self) -> bool {
        self.head().state.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// Whether [`poll`](Self::poll) handed the output out (or found none) already.
    pub(crate) fn taken(&self) -> bool {
        self.taken
    }

    /// The output once the task is complete: `None` if its body was dropped without finishing,
    /// or the output was taken already. Until then the loop keeps `cx`'s waker, to wake at the
    /// completion.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if !self.is_finished() {
            // SAFETY: the handle holds a reference.
            unsafe { (self.head().vtable.park_awaiter)(self.ptr, cx.waker()) };
            return Poll::Pending;
        }
        Poll::Ready(self.take_output())
    }

    fn take_output(&mut self) -> Option<T> {
        let mut output = None;
        if self.taken {
            return output;
        }
        self.taken = true;
        // SAFETY: complete (an acquire load or exchange saw it), so the stage is the handle's;
        // `T` is the body's output type (the handle was made with it).
        unsafe { (self.head().vtable.take_output)(self.ptr, ptr::from_mut(&mut output).cast()) };
        output
    }
}

impl<T, M: 'static> Drop for RawTask<T, M> {
    fn drop(&mut self) {
        // SAFETY: the handle holds a reference until the end of this function.
        let head = unsafe { self.ptr.as_ref() };
        let mut state = head.state.load(Ordering::Acquire);
        loop {
            if state & COMPLETE != 0 {
                // The output is this handle's to drop, here (spawn + join: a call of 30
                // instructions saved when it was taken).
                drop(self.take_output());
                break;
            }
            // Not complete: the completion will drop the output.
            match head.state.compare_exchange_weak(
                state,
                state - HANDLE - REF,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                // The loop's reference is still there: not the last.
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        let previous = head.state.fetch_sub(HANDLE | REF, Ordering::AcqRel);
        if previous / REF == 1 {
            // SAFETY: that was the last reference.
            unsafe { (head.vtable.dealloc)(self.ptr) };
        }
    }
}

/// A counted reference to a task, for a loop to tell whether it completed (an awaiter parked
/// from another thread, [`Schedule::park_awaiter`]) and find its header.
pub(crate) struct Watch<M: 'static>(NonNull<Head<M>>);

// SAFETY: a watch reads only the atomic state and the header (`Send + Sync`), and gives up its
// reference with an atomic decrement; the last one frees a task whose body and output are gone.
unsafe impl<M: Send + Sync + 'static> Send for Watch<M> {}

impl<M: 'static> Watch<M> {
    /// # Safety
    ///
    /// `ptr` is a live task, whose reference the caller holds for the call.
    unsafe fn new(ptr: NonNull<Head<M>>) -> Self {
        // SAFETY: a live task, whose reference the caller holds.
        unsafe { add_ref(ptr) };
        Watch(ptr)
    }

    /// The task's header.
    pub(crate) fn header(&self) -> &M {
        // SAFETY: the watch holds a reference.
        unsafe { &self.0.as_ref().header }
    }

    /// Whether the task's body is gone.
    pub(crate) fn is_complete(&self) -> bool {
        // SAFETY: the watch holds a reference.
        unsafe { self.0.as_ref() }.state.load(Ordering::Acquire) & COMPLETE != 0
    }
}

impl<M: 'static> Drop for Watch<M> {
    fn drop(&mut self) {
        // SAFETY: the watch's reference.
        unsafe { drop_ref(self.0) }
    }
}

impl<M: 'static> Head<M> {
    fn sched(&self) -> u8 {
        self.sched.load(Ordering::Relaxed)
    }

    fn set_sched(&self, sched: u8) {
        self.sched.store(sched, Ordering::Relaxed);
    }
}

/// Takes one more reference, as a waker's clone or a `Watch` does.
///
/// # Safety
///
/// The caller holds a reference.
unsafe fn add_ref<M: 'static>(ptr: NonNull<Head<M>>) {
    // SAFETY: a reference is held.
    let previous = unsafe { ptr.as_ref() }
        .state
        .fetch_add(REF, Ordering::Relaxed);
    if previous / REF > MAX_REFS {
        abort();
    }
}

/// Gives up one reference; frees the task with the last.
///
/// # Safety
///
/// The caller holds a reference.
unsafe fn drop_ref<M: 'static>(ptr: NonNull<Head<M>>) {
    // SAFETY: a reference is held.
    let head = unsafe { ptr.as_ref() };
    if head.state.fetch_sub(REF, Ordering::Release) / REF == 1 {
        fence(Ordering::Acquire);
        // SAFETY: that was the last reference.
        unsafe { (head.vtable.dealloc)(ptr) };
    }
}

/// The wakers of tasks with header `M`: their data is the task's head.
struct Wakers<M: 'static>(PhantomData<M>);

impl<M: 'static> Wakers<M> {
    const VTABLE: RawWakerVTable =
        RawWakerVTable::new(Self::clone, Self::wake, Self::wake_by_ref, Self::drop);

    fn raw(ptr: NonNull<Head<M>>) -> RawWaker {
        RawWaker::new(ptr.as_ptr().cast_const().cast(), &Self::VTABLE)
    }

    /// # Safety
    ///
    /// `data` comes from `raw`, and its waker holds or lends a reference.
    unsafe fn head(data: *const ()) -> NonNull<Head<M>> {
        // SAFETY: `raw` made it from a `NonNull`.
        unsafe { NonNull::new_unchecked(data.cast_mut().cast()) }
    }

    unsafe fn clone(data: *const ()) -> RawWaker {
        // SAFETY: the waker's contract.
        let ptr = unsafe { Self::head(data) };
        // SAFETY: the waker cloned holds or lends a reference.
        unsafe { add_ref(ptr) };
        Self::raw(ptr)
    }

    unsafe fn wake_by_ref(data: *const ()) {
        // SAFETY: the waker's contract.
        let ptr = unsafe { Self::head(data) };
        // SAFETY: the waker holds or lends a reference.
        unsafe { (ptr.as_ref().vtable.wake)(ptr) }
    }

    unsafe fn wake(data: *const ()) {
        // SAFETY: the waker's own reference, given up after the wake.
        unsafe {
            Self::wake_by_ref(data);
            Self::drop(data);
        }
    }

    unsafe fn drop(data: *const ()) {
        // SAFETY: a counted waker's reference.
        unsafe { drop_ref(Self::head(data)) }
    }
}

#[cfg(test)]
mod tests {
    //! The allocation on its own, with a header, body and schedule of the tests' making; these
    //! run under Miri (`scripts/miri.sh`), which checks every reference count, the stage's
    //! ownership and the frees.

    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{ready, Context, Poll, Waker};
    use std::thread::{self, ThreadId};

    use super::{allocate, Body, RawRunnable, RawTask, Schedule, TaskPtr, Watch};
    use crate::record::count_wakes::CountWakes;

    /// Awaiters parked from other threads, for the tests' loop to wake.
    type RemoteAwaiters = Arc<Mutex<Vec<(Watch<Meta>, Waker)>>>;

    /// The tests' header: which thread is the task's loop, where its remote wakes and awaiters
    /// go, and its awaiter parked on the loop's thread.
    struct Meta {
        loop_thread: ThreadId,
        remote: Arc<Mutex<Vec<Waker>>>,
        remote_awaiters: RemoteAwaiters,
        awaiter: Mutex<Option<Waker>>,
        abandoned: Arc<AtomicUsize>,
    }

    thread_local! {
        static READY: RefCell<VecDeque<RawRunnable<Meta>>> = const { RefCell::new(VecDeque::new()) };
    }

    enum Queue {}

    impl Schedule<Meta> for Queue {
        fn is_local(header: &Meta) -> bool {
            thread::current().id() == header.loop_thread
        }

        fn call_soon(runnable: RawRunnable<Meta>) {
            READY.with(|ready| ready.borrow_mut().push_back(runnable));
        }

        fn wake_remote(header: &Meta, waker: Waker) {
            header.remote.lock().unwrap().push(waker);
        }

        fn park_awaiter(header: &Meta, waker: &Waker, watch: impl FnOnce() -> Watch<Meta>) {
            if Self::is_local(header) {
                *header.awaiter.lock().unwrap() = Some(waker.clone());
            } else {
                let message = (watch(), waker.clone());
                header.remote_awaiters.lock().unwrap().push(message);
            }
        }

        fn take_awaiter(header: &Meta) -> Option<Waker> {
            assert!(
                Self::is_local(header),
                "completions happen on the loop's thread"
            );
            header.awaiter.lock().unwrap().take()
        }
    }

    /// A future as a body: dropped by the poll that finishes it, as `Body` asks.
    struct Plain<F>(Option<F>);

    impl<F: Future + 'static> Body<Meta> for Plain<F> {
        type Output = F::Output;

        fn poll(
            mut self: Pin<&mut Self>,
            _: &Meta,
            _: TaskPtr<Meta>,
            cx: &mut Context<'_>,
        ) -> Poll<F::Output> {
            // SAFETY: structural pinning of the only field; `Plain` moves nothing out.
            let future = unsafe { self.as_mut().map_unchecked_mut(|plain| &mut plain.0) };
            let output = ready!(future.as_pin_mut().expect("polled after Ready").poll(cx));
            self.set(Plain(None));
            Poll::Ready(output)
        }

        fn abandon(self: Pin<&mut Self>, header: &Meta) {
            header.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn meta() -> Meta {
        Meta {
            loop_thread: thread::current().id(),
            remote: Arc::default(),
            remote_awaiters: Arc::default(),
            awaiter: Mutex::new(None),
            abandoned: Arc::default(),
        }
    }

    fn spawn<F: Future + 'static>(header: Meta, future: F) -> RawTask<F::Output, Meta> {
        // SAFETY: every runnable is run or dropped on this thread, the loop's.
        let (runnable, task) = unsafe { allocate::<_, _, Queue>(header, Plain(Some(future))) };
        Queue::call_soon(runnable);
        task
    }

    /// Runs queued work until none is left; returns how many polls that was.
    fn run_all() -> usize {
        let mut polls = 0;
        while let Some(runnable) = READY.with(|ready| ready.borrow_mut().pop_front()) {
            runnable.run();
            polls += 1;
        }
        polls
    }

    fn queued() -> usize {
        READY.with(|ready| ready.borrow().len())
    }

    /// A future that wakes itself `times` times during its first poll, then finishes.
    fn wakes_itself(times: usize) -> impl Future<Output = usize> {
        let mut polled = false;
        std::future::poll_fn(move |cx| {
            if polled {
                return Poll::Ready(times);
            }
            polled = true;
            for _ in 0..times {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
    }

    fn poll_handle<T>(task: &mut RawTask<T, Meta>, waker: &Waker) -> Poll<Option<T>> {
        task.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_task_runs_to_its_output_and_the_handle_takes_it() {
        let mut task = spawn(meta(), async { String::from("out") });
        assert!(!task.is_finished());
        assert_eq!(run_all(), 1);
        assert!(task.is_finished());
        let output = poll_handle(&mut task, Waker::noop());
        assert_eq!(output, Poll::Ready(Some(String::from("out"))));
        assert_eq!(
            poll_handle(&mut task, Waker::noop()),
            Poll::Ready(None),
            "taken once"
        );
    }

    #[test]
    fn wakes_during_a_poll_queue_the_task_once_after_it() {
        let mut task = spawn(meta(), wakes_itself(3));
        READY
            .with(|ready| ready.borrow_mut().pop_front().unwrap())
            .run();
        assert_eq!(queued(), 1, "three wakes while running, one runnable");
        assert_eq!(run_all(), 1);
        assert_eq!(poll_handle(&mut task, Waker::noop()), Poll::Ready(Some(3)));
    }

    #[test]
    fn a_wake_of_a_finished_task_does_nothing_and_its_last_waker_frees_it() {
        let kept = Arc::new(Mutex::new(None::<Waker>));
        let slot = kept.clone();
        let task = spawn(meta(), async move {
            std::future::poll_fn(|cx| {
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(())
            })
            .await;
        });
        let waker = {
            run_all();
            kept.lock().unwrap().take().unwrap()
        };
        waker.wake_by_ref();
        assert_eq!(queued(), 0, "a finished task is not queued again");
        drop(task);
        // The waker outlives the handle and the body: the last reference frees the task.
        waker.wake();
    }

    #[test]
    fn a_wake_from_another_thread_reaches_the_loop_as_a_waker() {
        let header = meta();
        let remote = header.remote.clone();
        let kept = Arc::new(Mutex::new(None::<Waker>));
        let slot = kept.clone();
        let mut task = spawn(header, async move {
            let mut first = true;
            std::future::poll_fn(|cx| {
                if first {
                    first = false;
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                Poll::Ready(7)
            })
            .await
        });
        run_all();
        let waker = kept.lock().unwrap().take().unwrap();
        thread::spawn(move || waker.wake()).join().unwrap();
        assert_eq!(queued(), 0, "not queued from the other thread");
        let wakes: Vec<Waker> = std::mem::take(&mut *remote.lock().unwrap());
        assert_eq!(wakes.len(), 1);
        wakes.into_iter().for_each(Waker::wake);
        assert_eq!(run_all(), 1);
        assert_eq!(poll_handle(&mut task, Waker::noop()), Poll::Ready(Some(7)));
    }

    #[test]
    fn a_dropped_runnable_abandons_the_body_and_the_handle_gets_none() {
        let header = meta();
        let abandoned = header.abandoned.clone();
        let held = Arc::new(());
        let inside = held.clone();
        let mut task = spawn(header, async move {
            let _inside = inside;
            std::future::pending::<()>().await
        });
        drop(READY.with(|ready| ready.borrow_mut().pop_front()));
        assert_eq!(abandoned.load(Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&held), 1, "the body was dropped");
        assert!(task.is_finished());
        assert_eq!(poll_handle(&mut task, Waker::noop()), Poll::Ready(None));
    }

    #[test]
    fn an_output_nobody_takes_is_dropped_by_the_completion_or_the_handle() {
        let output = Arc::new(());
        let inside = output.clone();
        let task = spawn(meta(), async move { inside });
        drop(task);
        assert_eq!(Arc::strong_count(&output), 2, "the body still holds it");
        run_all();
        assert_eq!(Arc::strong_count(&output), 1, "dropped at completion");

        let inside = output.clone();
        let task = spawn(meta(), async move { inside });
        run_all();
        assert_eq!(Arc::strong_count(&output), 2, "kept for the handle");
        drop(task);
        assert_eq!(Arc::strong_count(&output), 1, "dropped with the handle");
    }

    #[test]
    fn the_completion_wakes_the_latest_awaiter_once() {
        let mut task = spawn(meta(), wakes_itself(1));
        let (first, first_waker) = CountWakes::waker();
        let (second, second_waker) = CountWakes::waker();
        assert_eq!(poll_handle(&mut task, &first_waker), Poll::Pending);
        assert_eq!(poll_handle(&mut task, &first_waker), Poll::Pending);
        assert_eq!(poll_handle(&mut task, &second_waker), Poll::Pending);
        run_all();
        assert_eq!(first.count(), 0, "replaced");
        assert_eq!(second.count(), 1);
        assert_eq!(poll_handle(&mut task, &second_waker), Poll::Ready(Some(1)));
    }

    #[test]
    fn a_handle_awaited_on_another_thread_is_woken_through_the_loop() {
        let header = meta();
        let remote_awaiters = header.remote_awaiters.clone();
        let mut task = spawn(header, wakes_itself(2));
        let (woken, waker) = CountWakes::waker();
        let (parked, parked_here) = (Arc::new(AtomicUsize::new(0)), Arc::clone(&remote_awaiters));
        let seen = parked.clone();
        let awaiting = thread::spawn(move || {
            assert_eq!(poll_handle(&mut task, &waker), Poll::Pending);
            seen.store(parked_here.lock().unwrap().len(), Ordering::SeqCst);
            loop {
                if let Poll::Ready(output) = poll_handle(&mut task, &waker) {
                    return output;
                }
                thread::yield_now();
            }
        });
        while parked.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        run_all();
        // The loop's side of a parked awaiter: wake it, at once since the task completed.
        for (watch, waker) in remote_awaiters.lock().unwrap().drain(..) {
            assert!(watch.is_complete());
            waker.wake();
        }
        assert_eq!(awaiting.join().unwrap(), Some(2));
        assert!(woken.count() >= 1);
        // Awaiters parked by polls that raced the completion: their watches hold the task, whose
        // header holds this list.
        remote_awaiters.lock().unwrap().clear();
    }
}
