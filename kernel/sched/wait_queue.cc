#include "kernel/sched/wait_queue.h"

#include "kernel/sched/run_queue.h"

namespace exo {

Thread* WaitQueue::find(uint32_t id) const
{
    for (Thread* t = m_list.front(); t != nullptr; t = next(*t)) {
        if (t->id == id)
            return t;
    }
    return nullptr;
}

Thread* WaitQueue::wake_one(Scheduler& sched, Result<void> result)
{
    Thread* t = m_list.front();
    if (t == nullptr)
        return nullptr;
    // A waiter that is not Blocked breaks an invariant; drop it rather than
    // loop on it forever.
    if (!sched.wake(*t, result))
        remove(*t);
    return t;
}

size_t WaitQueue::wake_all(Scheduler& sched, Result<void> result)
{
    size_t n = 0;
    while (wake_one(sched, result) != nullptr)
        ++n;
    return n;
}

Result<void> WaitQueue::push(Thread& t)
{
    TRY_VOID(m_list.push_back(t));
    t.blocked_on = this;
    if (m_list.size() > m_max_depth)
        m_max_depth = m_list.size();
    return {};
}

bool WaitQueue::remove(Thread& t)
{
    if (!m_list.remove(t))
        return false;
    t.blocked_on = nullptr;
    return true;
}

void WaitQueue::expire(Thread& t)
{
    if (remove(t))
        ++m_timeouts;
}

}  // namespace exo
