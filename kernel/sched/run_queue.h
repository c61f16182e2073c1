// Who runs next. RunQueue: one FIFO per priority level, strict priority
// between levels, round robin within one. Scheduler: the pure policy on top;
// it changes thread states and picks, and the lead's binding performs the
// actual context switch that switch_to_next() asks for:
//
//   timer interrupt:  if (s.on_tick(now)) { s.yield(); do_switch(s.switch_to_next()); }
//   blocking syscall: s.block(wq, deadline) / s.sleep_until(t) / s.exit_current();
//                     do_switch(s.switch_to_next());   // resumes here later
//   every switch:     s.account(*from, tsc_now - tsc_at_switch_in);
//
// Deadlines live on a list ordered by deadline (insertion O(n) in the number
// of timed waiters, expiry O(1) per thread), ties in arrival order. A
// Blocked thread with a deadline is on its WaitQueue and on that list.
// Strict priority means a busy high-priority thread starves lower ones: the
// kernel has few threads and they block often.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"

namespace exo {

class RunQueue {
public:
    constexpr RunQueue() = default;
    RunQueue(const RunQueue&) = delete;
    RunQueue& operator=(const RunQueue&) = delete;

    // Appends at the tail of t's level. InvalidArgument: priority out of
    // range or t is Dead; Busy: t is already on a queue.
    Result<void> enqueue(Thread& t);
    // Removes and returns the head of the best non-empty level.
    Thread* pick_next();
    bool remove(Thread& t);  // false when t is not queued here
    bool contains(const Thread& t) const;

    size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    // Best (lowest) priority with a queued thread; kPriorityLevels when empty.
    uint8_t best_priority() const;
    size_t size_at(uint8_t priority) const { return priority < kPriorityLevels ? m_levels[priority].size() : 0; }

private:
    size_t m_size = 0;
    QueueList m_levels[kPriorityLevels];
};

// Timer ticks a thread runs before an equal-priority thread may take over.
constexpr uint32_t kDefaultSliceTicks = 10;

// The switch the binding must perform; both null when nothing changes.
// `from` may be Dead (free its stack once off it) or Blocked/Sleeping/Ready.
struct Switch {
    Thread* from = nullptr;
    Thread* to = nullptr;
    explicit operator bool() const { return to != nullptr; }
};

class Scheduler {
public:
    // The idle thread runs when nothing is Ready; it is never queued and may
    // not block, sleep or exit. Nothing works before start().
    constexpr explicit Scheduler(Thread& idle, uint32_t slice_ticks = kDefaultSliceTicks)
        : m_idle(&idle)
        , m_current(&idle)
        , m_slice_ticks(slice_ticks)
    {
    }
    // All zero bytes, so a static one takes .bss rather than .data file
    // bytes: bind() must give it its idle thread before start().
    constexpr Scheduler()
        : m_idle(nullptr)
        , m_current(nullptr)
        , m_slice_ticks(0)
    {
    }
    void bind(Thread& idle, uint32_t slice_ticks = kDefaultSliceTicks)
    {
        m_idle = &idle;
        m_current = &idle;
        m_slice_ticks = slice_ticks;
    }
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Registers the idle thread and makes `first` (the code already running,
    // e.g. the boot context) or else idle the current Running thread.
    // Busy: already started; InvalidArgument: bad priority for `first`.
    Result<void> start(Thread* first = nullptr);
    // Registers a new thread and makes it Ready. Busy: already registered.
    Result<void> add(Thread& t);
    // Forgets a Dead thread so its memory can be reused. InvalidArgument:
    // not Dead, or still current (its stack is in use); NotFound: unknown.
    Result<void> release(Thread& t);

    // Advances the clock: wakes expired sleepers/waiters, charges a tick to
    // the current slice, and says whether the current thread should yield.
    bool on_tick(uint64_t now);
    // A better thread is Ready, or an equal one is and the slice is used up.
    bool preemption_due() const;

    // The current thread goes to the tail of its level (idle: just Ready).
    void yield();
    // The current thread blocks on wq until woken or until `deadline`
    // (kForever: no deadline). InvalidArgument: current is idle or not
    // Running; Busy: deadline is kNoWait (the caller asked not to wait).
    Result<void> block(WaitQueue& wq, uint64_t deadline);
    // The current thread sleeps until `deadline` (kForever: until wake()).
    Result<void> sleep_until(uint64_t deadline);
    // Blocked/Sleeping -> Ready with `result` in wait_result; false (no-op)
    // for any other state.
    bool wake(Thread& t, Result<void> result = {});
    // Wakes every thread whose deadline is <= now; Blocked ones with
    // Error::Timeout (and off their WaitQueue). Returns how many.
    size_t wake_expired(uint64_t now);
    // The current thread becomes Dead. InvalidArgument: it is idle.
    Result<void> exit_current();

    // If the current thread is no longer Running, picks the next one (idle
    // when nothing is Ready) and makes it current.
    Switch switch_to_next();
    void account(Thread& t, uint64_t ticks) { t.cpu_ticks += ticks; }

    Thread* current() const { return m_current; }
    Thread& idle() const { return *m_idle; }
    const RunQueue& run_queue() const { return m_run; }
    size_t timed_waiters() const { return m_timers.size(); }
    uint64_t now() const { return m_now; }
    uint64_t switches() const { return m_switches; }
    uint32_t slice_ticks() const { return m_slice_ticks; }
    // Every registered thread, in registration order (idle first).
    Thread* first_thread() const { return m_all_head; }
    static Thread* next_thread(const Thread& t) { return t.all_next; }
    size_t thread_count() const { return m_thread_count; }

private:
    Result<void> check_current_can_wait() const;
    void attach(Thread& t);
    // t (the current thread) waits in `state`, on the deadline list unless kForever.
    void start_wait(Thread& t, ThreadState state, uint64_t deadline);

    // Scalars before the queues: accesses through a pointer then take
    // one-byte displacements.
    Thread* m_idle;
    Thread* m_current;
    uint64_t m_now = 0;
    uint64_t m_switches = 0;
    uint32_t m_slice_ticks;
    uint32_t m_slice_used = 0;
    Thread* m_all_head = nullptr;
    Thread* m_all_tail = nullptr;
    size_t m_thread_count = 0;
    TimerList m_timers;
    RunQueue m_run;
};

}  // namespace exo
