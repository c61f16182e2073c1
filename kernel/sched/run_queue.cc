#include "kernel/sched/run_queue.h"

namespace exo {

// ---- RunQueue -----------------------------------------------------------------

Result<void> RunQueue::enqueue(Thread& t)
{
    if (t.priority >= kPriorityLevels || t.state == ThreadState::Dead)
        return Error::InvalidArgument;
    TRY_VOID(m_levels[t.priority].push_back(t));
    ++m_size;
    return {};
}

Thread* RunQueue::pick_next()
{
    uint8_t best = best_priority();
    if (best >= kPriorityLevels)
        return nullptr;
    --m_size;
    return m_levels[best].pop_front();
}

bool RunQueue::contains(const Thread& t) const
{
    for (const QueueList& level : m_levels) {
        if (level.contains(t))
            return true;
    }
    return false;
}

bool RunQueue::remove(Thread& t)
{
    for (QueueList& level : m_levels) {
        if (level.remove(t)) {
            --m_size;
            return true;
        }
    }
    return false;
}

uint8_t RunQueue::best_priority() const
{
    uint8_t p = 0;
    while (p < kPriorityLevels && m_levels[p].empty())
        ++p;
    return p;
}

// ---- Scheduler ----------------------------------------------------------------

// Out of line: both of its callers inlined a copy.
[[gnu::noinline]] void Scheduler::attach(Thread& t)
{
    t.attached = true;
    t.all_next = nullptr;
    (m_all_tail != nullptr ? m_all_tail->all_next : m_all_head) = &t;
    m_all_tail = &t;
    ++m_thread_count;
}

Result<void> Scheduler::start(Thread* first)
{
    if (m_idle->attached)
        return Error::Busy;
    if (first != nullptr && (first == m_idle || first->attached || first->priority >= kPriorityLevels))
        return Error::InvalidArgument;
    attach(*m_idle);
    m_idle->state = ThreadState::Running;
    m_current = m_idle;
    if (first != nullptr) {
        attach(*first);
        m_idle->state = ThreadState::Ready;
        first->state = ThreadState::Running;
        m_current = first;
    }
    return {};
}

Result<void> Scheduler::add(Thread& t)
{
    if (t.attached || &t == m_idle)
        return Error::Busy;
    if (t.link.list != nullptr || t.timer_link.list != nullptr)
        return Error::Busy;
    if (t.priority >= kPriorityLevels)
        return Error::InvalidArgument;
    t.state = ThreadState::Ready;
    TRY_VOID(m_run.enqueue(t));
    attach(t);
    return {};
}

Result<void> Scheduler::release(Thread& t)
{
    if (t.state != ThreadState::Dead || &t == m_current)
        return Error::InvalidArgument;
    Thread* prev = nullptr;
    for (Thread* p = m_all_head; p != nullptr; prev = p, p = p->all_next) {
        if (p != &t)
            continue;
        (prev != nullptr ? prev->all_next : m_all_head) = t.all_next;
        if (m_all_tail == &t)
            m_all_tail = prev;
        t.all_next = nullptr;
        t.attached = false;
        --m_thread_count;
        return {};
    }
    return Error::NotFound;
}

bool Scheduler::on_tick(uint64_t now)
{
    wake_expired(now);
    if (m_current != m_idle)
        ++m_slice_used;
    return preemption_due();
}

bool Scheduler::preemption_due() const
{
    if (m_current->state != ThreadState::Running)
        return true;
    uint8_t best = m_run.best_priority();
    if (best >= kPriorityLevels)
        return false;
    if (m_current == m_idle || best < m_current->priority)
        return true;
    return best == m_current->priority && m_slice_used >= m_slice_ticks;
}

void Scheduler::yield()
{
    Thread& t = *m_current;
    if (t.state != ThreadState::Running)
        return;
    t.state = ThreadState::Ready;
    if (&t != m_idle)
        (void)m_run.enqueue(t);  // cannot fail: a Running thread is on no queue
}

Result<void> Scheduler::check_current_can_wait() const
{
    if (m_current == m_idle || m_current->state != ThreadState::Running)
        return Error::InvalidArgument;
    return {};
}

void Scheduler::start_wait(Thread& t, ThreadState state, uint64_t deadline)
{
    t.state = state;
    t.wait_result = {};
    t.wake_deadline = deadline;
    if (deadline == kForever)
        return;
    Thread* pos = m_timers.front();
    while (pos != nullptr && pos->wake_deadline <= deadline)
        pos = TimerList::next(*pos);
    (void)m_timers.insert_before(pos, t);  // cannot fail: a Running thread has no timer
}

Result<void> Scheduler::block(WaitQueue& wq, uint64_t deadline)
{
    TRY_VOID(check_current_can_wait());
    if (deadline == kNoWait)
        return Error::Busy;
    Thread& t = *m_current;
    TRY_VOID(wq.push(t));
    start_wait(t, ThreadState::Blocked, deadline);
    return {};
}

Result<void> Scheduler::sleep_until(uint64_t deadline)
{
    TRY_VOID(check_current_can_wait());
    start_wait(*m_current, ThreadState::Sleeping, deadline);
    return {};
}

bool Scheduler::wake(Thread& t, Result<void> result)
{
    if (t.state != ThreadState::Blocked && t.state != ThreadState::Sleeping)
        return false;
    if (t.blocked_on != nullptr)
        t.blocked_on->remove(t);
    m_timers.remove(t);
    t.wake_deadline = kForever;
    t.wait_result = result;
    t.state = ThreadState::Ready;
    return m_run.enqueue(t).ok();
}

size_t Scheduler::wake_expired(uint64_t now)
{
    if (now > m_now)
        m_now = now;
    size_t n = 0;
    for (Thread* t = m_timers.front(); t != nullptr && t->wake_deadline <= now; t = m_timers.front()) {
        m_timers.remove(*t);
        if (t->state == ThreadState::Blocked) {
            if (t->blocked_on != nullptr)
                t->blocked_on->expire(*t);
            wake(*t, Error::Timeout);
        } else {
            wake(*t, {});
        }
        ++n;
    }
    return n;
}

Result<void> Scheduler::exit_current()
{
    if (m_current == m_idle)
        return Error::InvalidArgument;
    m_current->state = ThreadState::Dead;
    return {};
}

Switch Scheduler::switch_to_next()
{
    Thread* from = m_current;
    if (from->state == ThreadState::Running)
        return {};
    Thread* to = m_run.pick_next();
    if (to == nullptr)
        to = m_idle;
    to->state = ThreadState::Running;
    m_current = to;
    m_slice_used = 0;
    if (to == from)
        return {};
    ++to->switches;
    ++m_switches;
    return { from, to };
}

}  // namespace exo
