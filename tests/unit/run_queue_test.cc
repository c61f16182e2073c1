#include "kernel/sched/run_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace exo {
namespace {

// ---- Thread and ThreadList ------------------------------------------------------

TEST(Thread, NameIsTruncatedAndTerminated)
{
    Thread t(1, "a-very-long-thread-name", 1, Ring::User);
    EXPECT_STREQ(t.name, "a-very-long-thr");
    EXPECT_EQ(std::strlen(t.name), kThreadNameSize - 1);
    EXPECT_EQ(t.ring, Ring::User);
    t.set_name(nullptr);
    EXPECT_STREQ(t.name, "");
    EXPECT_STREQ(thread_state_name(ThreadState::Sleeping), "sleeping");
}

TEST(ThreadList, InsertRemoveAndDoubleInsert)
{
    Thread a(1, "a"), b(2, "b"), c(3, "c");
    QueueList list, other;
    ASSERT_TRUE(list.push_back(a).ok());
    ASSERT_TRUE(list.push_back(c).ok());
    ASSERT_TRUE(list.insert_before(&c, b).ok());
    EXPECT_EQ(list.size(), 3u);
    EXPECT_EQ(list.push_back(b).error(), Error::Busy);   // already on this list
    EXPECT_EQ(other.push_back(b).error(), Error::Busy);  // one queue at a time
    Thread d(4, "d");
    EXPECT_EQ(list.insert_before(&d, d).error(), Error::InvalidArgument);  // pos not here
    EXPECT_FALSE(other.remove(a));
    EXPECT_TRUE(list.remove(b));  // middle
    EXPECT_FALSE(list.remove(b));
    EXPECT_EQ(list.pop_front(), &a);
    EXPECT_EQ(list.pop_front(), &c);
    EXPECT_EQ(list.pop_front(), nullptr);
    EXPECT_TRUE(list.empty());
    EXPECT_TRUE(other.push_back(b).ok());  // free again after removal
}

// ---- RunQueue -------------------------------------------------------------------

TEST(RunQueue, RoundRobinWithinAPriorityStrictBetween)
{
    Thread lo1(1, "lo1", 3), hi(2, "hi", 0), lo2(3, "lo2", 3), mid(4, "mid", 1), hi2(5, "hi2", 0);
    RunQueue rq;
    EXPECT_EQ(rq.best_priority(), kPriorityLevels);
    for (Thread* t : {&lo1, &hi, &lo2, &mid, &hi2})
        ASSERT_TRUE(rq.enqueue(*t).ok());
    EXPECT_EQ(rq.size(), 5u);
    EXPECT_EQ(rq.size_at(3), 2u);
    EXPECT_EQ(rq.best_priority(), 0);
    std::vector<Thread*> order;
    while (Thread* t = rq.pick_next())
        order.push_back(t);
    EXPECT_EQ(order, (std::vector<Thread*> {&hi, &hi2, &mid, &lo1, &lo2}));
    EXPECT_TRUE(rq.empty());
    EXPECT_EQ(rq.pick_next(), nullptr);
}

TEST(RunQueue, RejectsBadThreadsAndRemoves)
{
    Thread bad(1, "bad", kPriorityLevels), dead(2, "dead"), a(3, "a"), b(4, "b");
    dead.state = ThreadState::Dead;
    RunQueue rq;
    EXPECT_EQ(rq.enqueue(bad).error(), Error::InvalidArgument);
    EXPECT_EQ(rq.enqueue(dead).error(), Error::InvalidArgument);
    ASSERT_TRUE(rq.enqueue(a).ok());
    EXPECT_EQ(rq.enqueue(a).error(), Error::Busy);
    ASSERT_TRUE(rq.enqueue(b).ok());
    EXPECT_TRUE(rq.contains(a));
    EXPECT_TRUE(rq.remove(a));
    EXPECT_FALSE(rq.remove(a));
    EXPECT_FALSE(rq.contains(a));
    EXPECT_EQ(rq.size(), 1u);
    EXPECT_EQ(rq.pick_next(), &b);
}

// ---- Scheduler ------------------------------------------------------------------

class SchedulerTest : public ::testing::Test {
protected:
    static constexpr uint32_t kSlice = 3;

    void SetUp() override { ASSERT_TRUE(sched.start().ok()); }

    // Plays the CPU: perform the switch the scheduler asks for.
    Thread* run_next()
    {
        Switch s = sched.switch_to_next();
        if (s) {
            EXPECT_EQ(s.to, sched.current());
            EXPECT_NE(s.from, s.to);
        }
        return sched.current();
    }

    Thread idle { 0, "idle", kPriorityLevels - 1 };
    Scheduler sched { idle, kSlice };
    Thread a { 1, "a" }, b { 2, "b" }, c { 3, "c" };
};

TEST_F(SchedulerTest, IdleRunsWhenNothingIsReady)
{
    EXPECT_EQ(sched.current(), &idle);
    EXPECT_EQ(idle.state, ThreadState::Running);
    EXPECT_FALSE(sched.switch_to_next());  // still Running: no switch
    sched.yield();
    EXPECT_FALSE(sched.switch_to_next());  // nothing else to run
    EXPECT_EQ(sched.current(), &idle);
    EXPECT_EQ(idle.state, ThreadState::Running);
    EXPECT_FALSE(sched.on_tick(1));
    EXPECT_EQ(sched.start().error(), Error::Busy);
    // The idle thread never waits or exits.
    WaitQueue wq;
    EXPECT_EQ(sched.block(wq, kForever).error(), Error::InvalidArgument);
    EXPECT_EQ(sched.sleep_until(5).error(), Error::InvalidArgument);
    EXPECT_EQ(sched.exit_current().error(), Error::InvalidArgument);
    EXPECT_EQ(sched.add(idle).error(), Error::Busy);
}

TEST_F(SchedulerTest, StartAdoptsTheRunningBootContext)
{
    Thread idle2(10, "idle2"), boot(11, "boot", 1);
    Scheduler s(idle2);
    ASSERT_TRUE(s.start(&boot).ok());
    EXPECT_EQ(s.current(), &boot);
    EXPECT_EQ(boot.state, ThreadState::Running);
    EXPECT_EQ(s.thread_count(), 2u);
    ASSERT_TRUE(s.exit_current().ok());
    Switch sw = s.switch_to_next();
    EXPECT_EQ(sw.from, &boot);
    EXPECT_EQ(sw.to, &idle2);
    Thread idle3(12, "idle3"), bad(13, "bad", kPriorityLevels);
    Scheduler s3(idle3);
    EXPECT_EQ(s3.start(&bad).error(), Error::InvalidArgument);
    EXPECT_EQ(s3.start(&idle3).error(), Error::InvalidArgument);
}

TEST(Scheduler, ZeroStateIsAllZeroAndBindMatchesTheConstructor)
{
    static constinit Scheduler zero {};
    const auto* bytes = reinterpret_cast<const unsigned char*>(&zero);
    for (size_t i = 0; i < sizeof zero; ++i)
        ASSERT_EQ(bytes[i], 0u) << "byte " << i;
    Thread idle(0, "idle", kPriorityLevels - 1), a(1, "a");
    Scheduler s;
    s.bind(idle, 2);
    EXPECT_EQ(s.current(), &idle);
    EXPECT_EQ(&s.idle(), &idle);
    EXPECT_EQ(s.slice_ticks(), 2u);
    ASSERT_TRUE(s.start().ok());
    ASSERT_TRUE(s.add(a).ok());
    s.yield();
    EXPECT_EQ(s.switch_to_next().to, &a);
}

TEST_F(SchedulerTest, RoundRobinOnYield)
{
    for (Thread* t : {&a, &b, &c})
        ASSERT_TRUE(sched.add(*t).ok());
    EXPECT_EQ(sched.add(a).error(), Error::Busy);
    EXPECT_EQ(sched.thread_count(), 4u);
    sched.yield();  // idle gives way
    std::vector<Thread*> order;
    for (int i = 0; i < 7; ++i) {
        order.push_back(run_next());
        sched.yield();
    }
    EXPECT_EQ(order, (std::vector<Thread*> {&a, &b, &c, &a, &b, &c, &a}));
    EXPECT_EQ(a.switches, 3u);
    EXPECT_EQ(b.switches, 2u);
    EXPECT_EQ(idle.switches, 0u);
    EXPECT_EQ(sched.switches(), 7u);
    // Registration order for the `threads` listing.
    std::vector<uint32_t> ids;
    for (Thread* t = sched.first_thread(); t != nullptr; t = Scheduler::next_thread(*t))
        ids.push_back(t->id);
    EXPECT_EQ(ids, (std::vector<uint32_t> {0, 1, 2, 3}));
}

TEST_F(SchedulerTest, StrictPriorityAndYieldToLowerIsNoSwitch)
{
    Thread hi(5, "hi", 0);
    ASSERT_TRUE(sched.add(a).ok());
    ASSERT_TRUE(sched.add(hi).ok());
    Thread bad(7, "bad", kPriorityLevels);
    EXPECT_EQ(sched.add(bad).error(), Error::InvalidArgument);
    EXPECT_FALSE(bad.attached);
    sched.yield();
    EXPECT_EQ(run_next(), &hi);
    sched.yield();
    EXPECT_FALSE(sched.switch_to_next());  // hi is still the best
    EXPECT_EQ(sched.current(), &hi);
    EXPECT_EQ(hi.state, ThreadState::Running);
    EXPECT_EQ(a.state, ThreadState::Ready);
}

TEST_F(SchedulerTest, TimeSlicePreemption)
{
    ASSERT_TRUE(sched.add(a).ok());
    EXPECT_TRUE(sched.on_tick(1));  // idle is preempted by anything
    sched.yield();
    EXPECT_EQ(run_next(), &a);
    // Alone: the slice runs out but nobody wants the CPU.
    for (uint64_t now = 2; now < 10; ++now)
        EXPECT_FALSE(sched.on_tick(now));
    ASSERT_TRUE(sched.add(b).ok());
    EXPECT_TRUE(sched.on_tick(10));  // slice long used up, b equal priority
    sched.yield();
    EXPECT_EQ(run_next(), &b);
    EXPECT_FALSE(sched.on_tick(11));
    EXPECT_FALSE(sched.on_tick(12));
    EXPECT_TRUE(sched.on_tick(13));  // kSlice ticks
    sched.yield();
    EXPECT_EQ(run_next(), &a);
    // A lower priority thread never preempts; a higher one does at once.
    Thread lo(8, "lo", 3), hi(9, "hi", 0);
    ASSERT_TRUE(sched.add(lo).ok());
    EXPECT_FALSE(sched.preemption_due());
    ASSERT_TRUE(sched.add(hi).ok());
    EXPECT_TRUE(sched.preemption_due());
    EXPECT_EQ(sched.slice_ticks(), kSlice);
}

TEST_F(SchedulerTest, BlockAndWake)
{
    ASSERT_TRUE(sched.add(a).ok());
    ASSERT_TRUE(sched.add(b).ok());
    sched.yield();
    ASSERT_EQ(run_next(), &a);
    WaitQueue wq;
    EXPECT_EQ(sched.block(wq, kNoWait).error(), Error::Busy);
    EXPECT_EQ(a.state, ThreadState::Running);
    ASSERT_TRUE(sched.block(wq, kForever).ok());
    EXPECT_EQ(a.state, ThreadState::Blocked);
    EXPECT_EQ(a.blocked_on, &wq);
    EXPECT_EQ(sched.timed_waiters(), 0u);  // no deadline, no timer
    ASSERT_EQ(run_next(), &b);
    ASSERT_TRUE(sched.block(wq, kForever).ok());
    ASSERT_EQ(run_next(), &idle);
    EXPECT_EQ(wq.size(), 2u);
    EXPECT_EQ(wq.max_depth(), 2u);
    EXPECT_EQ(wq.find(2), &b);
    EXPECT_EQ(wq.find(99), nullptr);

    EXPECT_EQ(wq.wake_one(sched, Error::Busy), &a);  // FIFO
    EXPECT_EQ(a.state, ThreadState::Ready);
    EXPECT_EQ(a.wait_result.error(), Error::Busy);
    EXPECT_EQ(a.blocked_on, nullptr);
    EXPECT_FALSE(sched.wake(a));  // waking a Ready thread is a no-op
    EXPECT_EQ(a.wait_result.error(), Error::Busy);
    EXPECT_EQ(wq.wake_all(sched), 1u);
    EXPECT_TRUE(b.wait_result.ok());
    EXPECT_EQ(wq.wake_one(sched), nullptr);
    EXPECT_TRUE(sched.on_tick(1));
    sched.yield();
    EXPECT_EQ(run_next(), &a);
    EXPECT_FALSE(sched.wake(a));  // nor is waking the Running one
}

TEST_F(SchedulerTest, SleepDeadlinesInMixedOrder)
{
    Thread d(4, "d");
    const uint64_t deadlines[] = {30, 10, 20, 10};  // a, b, c, d
    Thread* threads[] = {&a, &b, &c, &d};
    for (Thread* t : threads)
        ASSERT_TRUE(sched.add(*t).ok());
    sched.yield();
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(run_next(), threads[i]);
        ASSERT_TRUE(sched.sleep_until(deadlines[i]).ok());
        EXPECT_EQ(threads[i]->state, ThreadState::Sleeping);
    }
    EXPECT_EQ(run_next(), &idle);
    EXPECT_EQ(sched.timed_waiters(), 4u);
    EXPECT_EQ(sched.wake_expired(9), 0u);
    EXPECT_EQ(sched.wake_expired(10), 2u);  // b then d: equal deadlines keep arrival order
    EXPECT_EQ(sched.now(), 10u);
    EXPECT_EQ(c.state, ThreadState::Sleeping);
    EXPECT_TRUE(sched.on_tick(25));  // c wakes; idle must yield
    EXPECT_EQ(a.state, ThreadState::Sleeping);
    sched.yield();
    std::vector<Thread*> order;
    for (int i = 0; i < 3; ++i) {
        order.push_back(run_next());
        sched.yield();
    }
    EXPECT_EQ(order, (std::vector<Thread*> {&b, &d, &c}));
    EXPECT_TRUE(b.wait_result.ok());
    EXPECT_EQ(sched.wake_expired(1000), 1u);
    EXPECT_EQ(a.state, ThreadState::Ready);
    EXPECT_EQ(sched.timed_waiters(), 0u);
}

TEST_F(SchedulerTest, EarlyWakeCancelsTheTimerAndForeverSleepNeedsAWake)
{
    ASSERT_TRUE(sched.add(a).ok());
    ASSERT_TRUE(sched.add(b).ok());
    sched.yield();
    ASSERT_EQ(run_next(), &a);
    ASSERT_TRUE(sched.sleep_until(50).ok());
    ASSERT_EQ(run_next(), &b);
    ASSERT_TRUE(sched.sleep_until(kForever).ok());
    EXPECT_EQ(sched.timed_waiters(), 1u);
    EXPECT_TRUE(sched.wake(a));
    EXPECT_EQ(sched.timed_waiters(), 0u);
    EXPECT_EQ(sched.wake_expired(~uint64_t {0} - 1), 0u);
    EXPECT_EQ(b.state, ThreadState::Sleeping);
    EXPECT_TRUE(sched.wake(b));
    EXPECT_EQ(run_next(), &a);
}

TEST_F(SchedulerTest, BlockedThreadTimesOutAndLeavesItsQueue)
{
    ASSERT_TRUE(sched.add(a).ok());
    ASSERT_TRUE(sched.add(b).ok());
    sched.yield();
    WaitQueue wq;
    ASSERT_EQ(run_next(), &a);
    ASSERT_TRUE(sched.block(wq, 100).ok());
    ASSERT_EQ(run_next(), &b);
    ASSERT_TRUE(sched.block(wq, kForever).ok());
    ASSERT_EQ(run_next(), &idle);
    EXPECT_FALSE(sched.on_tick(99));
    EXPECT_TRUE(sched.on_tick(100));
    EXPECT_EQ(a.state, ThreadState::Ready);
    EXPECT_EQ(a.wait_result.error(), Error::Timeout);
    EXPECT_FALSE(wq.contains(a));
    EXPECT_EQ(wq.size(), 1u);
    EXPECT_EQ(wq.timeouts(), 1u);
    EXPECT_EQ(wq.front(), &b);
    // Woken in time: no timeout later.
    sched.yield();
    ASSERT_EQ(run_next(), &a);
    ASSERT_TRUE(sched.block(wq, 200).ok());
    EXPECT_EQ(wq.wake_all(sched), 2u);
    EXPECT_EQ(sched.wake_expired(300), 0u);
    EXPECT_TRUE(a.wait_result.ok());
    EXPECT_EQ(wq.timeouts(), 1u);
}

TEST_F(SchedulerTest, DeadThreadIsNeverPickedAndCanBeReleased)
{
    ASSERT_TRUE(sched.add(a).ok());
    ASSERT_TRUE(sched.add(b).ok());
    sched.yield();
    ASSERT_EQ(run_next(), &a);
    EXPECT_EQ(sched.release(a).error(), Error::InvalidArgument);  // still alive
    ASSERT_TRUE(sched.exit_current().ok());
    EXPECT_EQ(sched.release(a).error(), Error::InvalidArgument);  // still current
    Switch sw = sched.switch_to_next();
    EXPECT_EQ(sw.from, &a);
    EXPECT_EQ(sw.to, &b);
    EXPECT_FALSE(sched.wake(a));
    EXPECT_EQ(a.state, ThreadState::Dead);
    for (int i = 0; i < 5; ++i) {
        sched.yield();
        EXPECT_EQ(run_next(), &b);
    }
    ASSERT_TRUE(sched.exit_current().ok());
    EXPECT_EQ(run_next(), &idle);
    EXPECT_FALSE(sched.run_queue().contains(a));
    ASSERT_TRUE(sched.release(a).ok());
    EXPECT_EQ(sched.release(a).error(), Error::NotFound);
    ASSERT_TRUE(sched.release(b).ok());  // the tail
    EXPECT_EQ(sched.thread_count(), 1u);
    ASSERT_TRUE(sched.add(c).ok());  // the list still works after removals
    EXPECT_EQ(Scheduler::next_thread(idle), &c);
    ASSERT_TRUE(sched.add(a).ok());  // a released Thread object can be reused
    EXPECT_EQ(a.state, ThreadState::Ready);
}

TEST_F(SchedulerTest, Accounting)
{
    sched.account(a, 1500);
    sched.account(a, 500);
    EXPECT_EQ(a.cpu_ticks, 2000u);
}

}  // namespace
}  // namespace exo
