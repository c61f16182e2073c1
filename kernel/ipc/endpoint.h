// Synchronous rendezvous IPC (seL4-like, simplified). A message moves only
// when a sender and a receiver meet; whoever arrives first waits on the
// endpoint, in FIFO order, up to `bound` waiters per side.
//
// Every operation is a pure state transition over a Scheduler and is made by
// the current thread. It returns an IpcOutcome:
//   Done  - finished now; `result` says how.
//   Block - the thread is now Blocked on this endpoint: the binding calls
//           switch_to_next(). When the thread runs again its wait_result is
//           the result (Error::Timeout if its deadline passed first) and, for
//           receive() and call(), ipc.msg holds the message or reply and
//           ipc.peer the sender (receive) or replying server (call).
//
// call() = send, then wait on the endpoint's reply queue for reply() from
// the server that took the message; one deadline covers both halves.
//
// Errors: InvalidArgument (not the Running current thread; call() with
// kNoWait or from the idle thread), TooLong (message length > kMessageWords), Busy (no partner and
// deadline kNoWait, or this side's queue is at its bound), NotFound (reply()
// to a thread not awaiting this server's reply, e.g. it timed out).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"

namespace exo {

enum class IpcAction : uint8_t {
    Done,
    Block,
};

struct IpcOutcome {
    IpcAction action = IpcAction::Done;
    Result<void> result {};

    static IpcOutcome done(Result<void> r = {}) { return { IpcAction::Done, r }; }
    static IpcOutcome blocked() { return { IpcAction::Block, {} }; }
    bool must_block() const { return action == IpcAction::Block; }
};

// Waiters allowed on each side of an endpoint by default.
constexpr uint32_t kDefaultEndpointBound = 8;

struct EndpointStats {
    const char* name = nullptr;
    uint64_t sent = 0;       // send() messages handed to a receiver
    uint64_t calls = 0;      // call() messages handed to a receiver
    uint64_t received = 0;   // messages receivers took (= sent + calls)
    uint64_t replies = 0;    // replies handed to a waiting caller
    uint64_t timeouts = 0;   // waiters whose deadline passed, any queue
    size_t max_depth = 0;    // deepest sender or receiver queue seen
    size_t senders = 0;      // threads waiting to send now (calls included)
    size_t receivers = 0;    // threads waiting to receive now
    size_t awaiting_reply = 0;
};

class Endpoint {
public:
    constexpr explicit Endpoint(const char* name, uint32_t bound = kDefaultEndpointBound)
        : m_name(name)
        , m_bound(bound)
    {
    }
    // All zero bytes, so a static one takes .bss rather than .data file
    // bytes: set_up() must name it before use.
    constexpr Endpoint()
        : m_name(nullptr)
        , m_bound(0)
    {
    }
    void set_up(const char* name, uint32_t bound = kDefaultEndpointBound)
    {
        m_name = name;
        m_bound = bound;
    }
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    IpcOutcome send(Scheduler& sched, Thread& sender, const Message& msg, uint64_t deadline);
    IpcOutcome receive(Scheduler& sched, Thread& receiver, uint64_t deadline);
    IpcOutcome call(Scheduler& sched, Thread& client, const Message& msg, uint64_t deadline);
    // Never blocks: wakes client `client_id` with `msg` as its reply.
    IpcOutcome reply(Scheduler& sched, Thread& server, uint32_t client_id, const Message& msg);

    const char* name() const { return m_name; }
    uint32_t bound() const { return m_bound; }
    EndpointStats stats() const;

private:
    IpcOutcome check(const Scheduler& sched, const Thread& t, const Message* msg) const;
    void deliver(Scheduler& sched, Thread& from, Thread& to);
    IpcOutcome wait(Scheduler& sched, WaitQueue& q, Thread& t, IpcOp op, uint64_t deadline);

    const char* m_name;
    uint32_t m_bound;
    WaitQueue m_senders;    // Send or Call, message in their ipc slot
    WaitQueue m_receivers;
    WaitQueue m_reply_waiters;
    uint64_t m_sent = 0;
    uint64_t m_calls = 0;
    uint64_t m_replies = 0;
};

}  // namespace exo
