#include "kernel/ipc/endpoint.h"

namespace exo {

IpcOutcome Endpoint::check(const Scheduler& sched, const Thread& t, const Message* msg) const
{
    if (sched.current() != &t || t.state != ThreadState::Running)
        return IpcOutcome::done(Error::InvalidArgument);
    if (msg != nullptr && msg->length > kMessageWords)
        return IpcOutcome::done(Error::TooLong);
    return IpcOutcome::done();
}

// `from` (queued or running) hands its ipc.msg to `to`. A plain sender is
// done; a caller now owes nothing but waits for to's reply.
void Endpoint::deliver(Scheduler& sched, Thread& from, Thread& to)
{
    to.ipc.msg = from.ipc.msg;
    to.ipc.peer = from.id;
    to.ipc.op = IpcOp::None;
    if (from.ipc.op == IpcOp::Call) {
        from.ipc.peer = to.id;
        ++m_calls;
    } else {
        from.ipc.op = IpcOp::None;
        ++m_sent;
    }
    if (from.state == ThreadState::Blocked) {
        m_senders.remove(from);
        if (from.ipc.op == IpcOp::Call) {
            from.ipc.op = IpcOp::AwaitReply;
            (void)m_reply_waiters.push(from);  // cannot fail: just left m_senders
        } else {
            sched.wake(from);
        }
    }
    if (to.state == ThreadState::Blocked)
        sched.wake(to);
}

IpcOutcome Endpoint::wait(Scheduler& sched, WaitQueue& q, Thread& t, IpcOp op, uint64_t deadline)
{
    if (deadline == kNoWait || q.size() >= m_bound)
        return IpcOutcome::done(Error::Busy);
    Result<void> r = sched.block(q, deadline);
    if (!r.ok())
        return IpcOutcome::done(r);
    t.ipc.op = op;
    return IpcOutcome::blocked();
}

IpcOutcome Endpoint::send(Scheduler& sched, Thread& sender, const Message& msg, uint64_t deadline)
{
    IpcOutcome c = check(sched, sender, &msg);
    if (!c.result.ok())
        return c;
    sender.ipc.msg = msg;
    sender.ipc.op = IpcOp::Send;
    if (Thread* r = m_receivers.front()) {
        deliver(sched, sender, *r);
        return IpcOutcome::done();
    }
    return wait(sched, m_senders, sender, IpcOp::Send, deadline);
}

IpcOutcome Endpoint::call(Scheduler& sched, Thread& client, const Message& msg, uint64_t deadline)
{
    IpcOutcome c = check(sched, client, &msg);
    if (!c.result.ok())
        return c;
    // A call always waits for its reply, which the idle thread may not do.
    if (deadline == kNoWait || &client == &sched.idle())
        return IpcOutcome::done(Error::InvalidArgument);
    client.ipc.msg = msg;
    client.ipc.op = IpcOp::Call;
    if (Thread* r = m_receivers.front()) {
        deliver(sched, client, *r);
        // Reply queue is unbounded: each waiter there was admitted once already.
        Result<void> b = sched.block(m_reply_waiters, deadline);
        if (!b.ok())
            return IpcOutcome::done(b);
        client.ipc.op = IpcOp::AwaitReply;
        return IpcOutcome::blocked();
    }
    return wait(sched, m_senders, client, IpcOp::Call, deadline);
}

IpcOutcome Endpoint::receive(Scheduler& sched, Thread& receiver, uint64_t deadline)
{
    IpcOutcome c = check(sched, receiver, nullptr);
    if (!c.result.ok())
        return c;
    if (Thread* s = m_senders.front()) {
        deliver(sched, *s, receiver);
        return IpcOutcome::done();
    }
    return wait(sched, m_receivers, receiver, IpcOp::Receive, deadline);
}

IpcOutcome Endpoint::reply(Scheduler& sched, Thread& server, uint32_t client_id, const Message& msg)
{
    IpcOutcome c = check(sched, server, &msg);
    if (!c.result.ok())
        return c;
    Thread* client = m_reply_waiters.find(client_id);
    if (client == nullptr || client->ipc.peer != server.id)
        return IpcOutcome::done(Error::NotFound);
    client->ipc.msg = msg;
    client->ipc.peer = server.id;
    client->ipc.op = IpcOp::None;
    sched.wake(*client);
    ++m_replies;
    return IpcOutcome::done();
}

EndpointStats Endpoint::stats() const
{
    EndpointStats s;
    s.name = m_name;
    s.sent = m_sent;
    s.calls = m_calls;
    s.received = m_sent + m_calls;
    s.replies = m_replies;
    s.timeouts = m_senders.timeouts() + m_receivers.timeouts() + m_reply_waiters.timeouts();
    s.max_depth = m_senders.max_depth() > m_receivers.max_depth() ? m_senders.max_depth() : m_receivers.max_depth();
    s.senders = m_senders.size();
    s.receivers = m_receivers.size();
    s.awaiting_reply = m_reply_waiters.size();
    return s;
}

}  // namespace exo
