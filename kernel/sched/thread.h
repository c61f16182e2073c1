// The pure part of a thread control block, and the intrusive list that
// threads sit on. The lead allocates Thread objects (no heap in here) and
// keeps the saved register context and stacks behind `arch`; the scheduler
// and IPC code only move threads between lists and change their state.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/names.h"
#include "kernel/lib/result.h"

namespace exo {

enum class ThreadState : uint8_t {
    Ready,     // on the run queue (or the idle thread, waiting for nothing to do)
    Running,   // the scheduler's current thread
    Blocked,   // on a WaitQueue, maybe with a deadline
    Sleeping,  // on the scheduler's deadline list only
    Dead,      // exited; never queued or picked again
};

inline const char* thread_state_name(ThreadState s)
{
    return name_at("ready\0running\0blocked\0sleeping\0dead\0", static_cast<size_t>(s));
}

// Privilege level the thread runs at (CPL, Intel SDM Vol. 3A 5.5).
enum class Ring : uint8_t {
    Kernel = 0,
    User = 3,
};

constexpr uint8_t kPriorityLevels = 4;  // 0 is the highest
constexpr uint8_t kDefaultPriority = 2;
constexpr size_t kThreadNameSize = 16;  // including the terminating NUL

// Deadlines are absolute timer ticks (the same clock on_tick() is given).
constexpr uint64_t kNoWait = 0;              // never block: fail with Busy instead
constexpr uint64_t kForever = ~uint64_t { 0 };  // block with no deadline

// A synchronous IPC message: a label and up to kMessageWords payload words.
constexpr uint32_t kMessageWords = 4;
struct Message {
    uint64_t label = 0;
    uint64_t words[kMessageWords] {};
    uint32_t length = 0;  // payload words in use
};

// What the thread is doing on an endpoint; lets a receiver tell a plain send
// (wake the sender) from a call (the sender now waits for the reply).
enum class IpcOp : uint8_t {
    None,
    Send,
    Call,
    Receive,
    AwaitReply,
};

struct IpcSlot {
    Message msg;         // outgoing while queued to send; incoming once woken
    uint32_t peer = 0;   // receiver: who sent; caller: the server owing a reply
    IpcOp op = IpcOp::None;
};

struct Thread;

// Intrusive links: a Thread carries its own list nodes, so queuing never
// allocates. `list` names the owning list, which catches double insertion.
struct ThreadLink {
    Thread* next = nullptr;
    Thread* prev = nullptr;
    const void* list = nullptr;
};

class WaitQueue;

struct Thread {
    constexpr Thread() = default;
    // Zero-filled in one go, then the fields whose default is not zero
    // (every other one is: keep it so): the member initializers one store
    // at a time were 200 bytes of code. The fill makes them dead stores,
    // which the compiler drops.
    Thread(uint32_t thread_id, const char* thread_name, uint8_t prio = kDefaultPriority,
        Ring thread_ring = Ring::Kernel)
    {
        __builtin_memset(static_cast<void*>(this), 0, sizeof(*this));
        id = thread_id;
        priority = prio;
        ring = thread_ring;
        wake_deadline = kForever;
        set_name(thread_name);
    }
    // Lists point into the object: it must never move or be copied.
    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;

    // Copies at most kThreadNameSize - 1 characters; always NUL-terminated.
    constexpr void set_name(const char* s)
    {
        size_t i = 0;
        for (; s != nullptr && s[i] != '\0' && i + 1 < kThreadNameSize; ++i)
            name[i] = s[i];
        for (; i < kThreadNameSize; ++i)
            name[i] = '\0';
    }

    uint32_t id = 0;  // chosen by the lead; IPC replies address threads by it
    char name[kThreadNameSize] {};
    ThreadState state = ThreadState::Ready;
    uint8_t priority = kDefaultPriority;
    Ring ring = Ring::Kernel;
    uint64_t wake_deadline = kForever;  // while Sleeping or Blocked
    uint64_t cpu_ticks = 0;             // TSC ticks run, fed by Scheduler::account()
    uint64_t switches = 0;              // times switched in
    Result<void> wait_result {};        // why the last block/sleep ended (Timeout or ok)
    IpcSlot ipc;
    void* arch = nullptr;  // the lead's saved context and stack bookkeeping

    // Scheduler and queue bookkeeping: not for the lead to touch.
    WaitQueue* blocked_on = nullptr;  // the WaitQueue holding `link` while Blocked
    ThreadLink link;                  // run queue or wait queue
    ThreadLink timer_link;            // the scheduler's deadline list
    Thread* all_next = nullptr;       // the scheduler's list of every thread
    bool attached = false;            // registered with a scheduler
};

// What every ThreadList shares: its ends and size, and the two edits with
// the link member as an argument, so the run queue, the wait queues and the
// deadline list run one copy of each (out of line: each list had its own).
class ThreadListBase {
public:
    ThreadListBase(const ThreadListBase&) = delete;
    ThreadListBase& operator=(const ThreadListBase&) = delete;

    constexpr bool empty() const { return m_head == nullptr; }
    constexpr size_t size() const { return m_size; }
    constexpr Thread* front() const { return m_head; }

protected:
    constexpr ThreadListBase() = default;

    constexpr bool contains(ThreadLink Thread::*l, const Thread& t) const { return (t.*l).list == this; }

    [[gnu::noinline]] constexpr Result<void> insert_before(ThreadLink Thread::*l, Thread* pos, Thread& t)
    {
        ThreadLink& link = t.*l;
        if (link.list != nullptr)
            return Error::Busy;
        if (pos != nullptr && !contains(l, *pos))
            return Error::InvalidArgument;
        link.list = this;
        link.next = pos;
        link.prev = pos != nullptr ? (pos->*l).prev : m_tail;
        (link.prev != nullptr ? (link.prev->*l).next : m_head) = &t;
        (pos != nullptr ? (pos->*l).prev : m_tail) = &t;
        ++m_size;
        return {};
    }

    [[gnu::noinline]] constexpr bool remove(ThreadLink Thread::*l, Thread& t)
    {
        if (!contains(l, t))
            return false;
        ThreadLink& link = t.*l;
        (link.prev != nullptr ? (link.prev->*l).next : m_head) = link.next;
        (link.next != nullptr ? (link.next->*l).prev : m_tail) = link.prev;
        link = ThreadLink {};
        --m_size;
        return true;
    }

private:
    Thread* m_head = nullptr;
    Thread* m_tail = nullptr;
    size_t m_size = 0;
};

// A FIFO of threads threaded through the link member L. Doubly linked so
// remove() (a timeout, a wake of a chosen thread) is O(1).
template<ThreadLink Thread::*L>
class ThreadList : public ThreadListBase {
public:
    constexpr ThreadList() = default;

    static constexpr Thread* next(const Thread& t) { return (t.*L).next; }
    constexpr bool contains(const Thread& t) const { return ThreadListBase::contains(L, t); }

    // Inserts t before pos (nullptr: at the tail). Busy: t is already on a
    // list using this link; InvalidArgument: pos is not on this list.
    constexpr Result<void> insert_before(Thread* pos, Thread& t) { return ThreadListBase::insert_before(L, pos, t); }

    constexpr Result<void> push_back(Thread& t) { return insert_before(nullptr, t); }

    // False (and nothing changes) when t is not on this list.
    constexpr bool remove(Thread& t) { return ThreadListBase::remove(L, t); }

    constexpr Thread* pop_front()
    {
        Thread* t = front();
        if (t != nullptr)
            remove(*t);
        return t;
    }
};

using QueueList = ThreadList<&Thread::link>;
using TimerList = ThreadList<&Thread::timer_link>;

}  // namespace exo
