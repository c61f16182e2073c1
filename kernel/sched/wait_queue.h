// A FIFO of Blocked threads. Threads get here through Scheduler::block() and
// leave through a wake (wake_one/wake_all/Scheduler::wake) or, when their
// deadline passes, through Scheduler::wake_expired(), which counts it here.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "kernel/sched/thread.h"

namespace exo {

class Scheduler;

class WaitQueue {
public:
    constexpr WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    bool empty() const { return m_list.empty(); }
    size_t size() const { return m_list.size(); }
    Thread* front() const { return m_list.front(); }
    static Thread* next(const Thread& t) { return QueueList::next(t); }
    bool contains(const Thread& t) const { return m_list.contains(t); }
    Thread* find(uint32_t id) const;  // nullptr when no waiter has that id

    // Wakes the oldest waiter with `result`; returns it (nullptr: none).
    Thread* wake_one(Scheduler& sched, Result<void> result = {});
    // Wakes every waiter in FIFO order; returns how many.
    size_t wake_all(Scheduler& sched, Result<void> result = {});

    size_t max_depth() const { return m_max_depth; }
    uint64_t timeouts() const { return m_timeouts; }

    // For Scheduler and Endpoint: move a thread in or out without waking it.
    // push() sets t.blocked_on; Busy if t is already on a queue.
    Result<void> push(Thread& t);
    bool remove(Thread& t);
    // The deadline of a waiter passed: take it out and count the timeout.
    void expire(Thread& t);

private:
    QueueList m_list;
    size_t m_max_depth = 0;
    uint64_t m_timeouts = 0;
};

}  // namespace exo
