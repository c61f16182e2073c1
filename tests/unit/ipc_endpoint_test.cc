#include "kernel/ipc/endpoint.h"

#include <gtest/gtest.h>

#include <vector>

namespace exo {
namespace {

Message make_message(uint64_t label, uint64_t w0 = 0, uint32_t length = 1)
{
    Message m;
    m.label = label;
    m.words[0] = w0;
    m.words[3] = w0 * 3;
    m.length = length;
    return m;
}

void expect_same(const Message& a, const Message& b)
{
    EXPECT_EQ(a.label, b.label);
    EXPECT_EQ(a.length, b.length);
    for (uint32_t i = 0; i < kMessageWords; ++i)
        EXPECT_EQ(a.words[i], b.words[i]) << "word " << i;
}

// The test plays the CPU: threads are Thread objects, and whatever the
// scheduler makes current is the one whose next step the test runs.
class EndpointTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(sched.start().ok());
        for (Thread* t : {&client, &server, &third})
            ASSERT_TRUE(sched.add(*t).ok());
    }

    // Makes t current by yielding around the run queue (all equal priority).
    void run(Thread& t)
    {
        for (int i = 0; i < 8 && sched.current() != &t; ++i) {
            sched.yield();
            (void)sched.switch_to_next();
        }
        ASSERT_EQ(sched.current(), &t);
    }

    // After an operation said Block: give the CPU away.
    void block_and_switch(const IpcOutcome& out, Thread& t)
    {
        ASSERT_TRUE(out.must_block());
        ASSERT_EQ(t.state, ThreadState::Blocked);
        Switch s = sched.switch_to_next();
        ASSERT_TRUE(s);
        EXPECT_EQ(s.from, &t);
    }

    static void expect_done(const IpcOutcome& out)
    {
        EXPECT_EQ(out.action, IpcAction::Done);
        EXPECT_TRUE(out.result.ok()) << error_name(out.result.error());
    }

    static void expect_error(const IpcOutcome& out, Error e)
    {
        EXPECT_EQ(out.action, IpcAction::Done);
        ASSERT_FALSE(out.result.ok());
        EXPECT_EQ(out.result.error(), e) << error_name(out.result.error());
    }

    Thread idle { 0, "idle", kPriorityLevels - 1 };
    Scheduler sched { idle, 5 };
    Thread client { 1, "client" }, server { 2, "server" }, third { 3, "third" };
    Endpoint ep { "echo", 2 };
};

TEST(Endpoint, ZeroStateIsAllZeroAndSetUpNamesIt)
{
    static constinit Endpoint zero {};
    const auto* bytes = reinterpret_cast<const unsigned char*>(&zero);
    for (size_t i = 0; i < sizeof zero; ++i)
        ASSERT_EQ(bytes[i], 0u) << "byte " << i;
    Endpoint ep;
    ep.set_up("late");
    EXPECT_STREQ(ep.name(), "late");
    EXPECT_EQ(ep.bound(), Endpoint("x").bound());
    ep.set_up("small", 2);
    EXPECT_EQ(ep.bound(), 2u);
}

TEST_F(EndpointTest, ReceiverFirstThenSender)
{
    run(server);
    block_and_switch(ep.receive(sched, server, kForever), server);
    EXPECT_EQ(ep.stats().receivers, 1u);
    run(client);
    Message m = make_message(7, 42, 4);
    m.words[1] = 11;
    m.words[2] = 12;
    expect_done(ep.send(sched, client, m, kForever));
    EXPECT_EQ(client.state, ThreadState::Running);  // the sender goes on
    EXPECT_EQ(server.state, ThreadState::Ready);
    run(server);
    EXPECT_TRUE(server.wait_result.ok());
    expect_same(server.ipc.msg, m);
    EXPECT_EQ(server.ipc.peer, client.id);
    EndpointStats s = ep.stats();
    EXPECT_STREQ(s.name, "echo");
    EXPECT_EQ(s.sent, 1u);
    EXPECT_EQ(s.received, 1u);
    EXPECT_EQ(s.calls, 0u);
    EXPECT_EQ(s.receivers, 0u);
    EXPECT_EQ(s.max_depth, 1u);
}

TEST_F(EndpointTest, SenderFirstThenReceiver)
{
    run(client);
    Message m = make_message(9, 99);
    block_and_switch(ep.send(sched, client, m, kForever), client);
    m.label = 1000;  // the endpoint kept its own copy
    EXPECT_EQ(ep.stats().senders, 1u);
    EXPECT_EQ(ep.stats().sent, 0u);  // counted on delivery
    run(server);
    expect_done(ep.receive(sched, server, kForever));
    EXPECT_EQ(server.ipc.msg.label, 9u);
    EXPECT_EQ(server.ipc.msg.words[0], 99u);
    EXPECT_EQ(server.ipc.peer, client.id);
    EXPECT_EQ(client.state, ThreadState::Ready);
    EXPECT_TRUE(client.wait_result.ok());
    EXPECT_EQ(ep.stats().senders, 0u);
    EXPECT_EQ(ep.stats().sent, 1u);
    EXPECT_EQ(ep.stats().received, 1u);
}

TEST_F(EndpointTest, CallThenReceiveThenReply)
{
    run(client);
    block_and_switch(ep.call(sched, client, make_message(1, 5), kForever), client);
    run(server);
    expect_done(ep.receive(sched, server, kForever));
    EXPECT_EQ(server.ipc.peer, client.id);
    // The caller stays blocked, now waiting for the reply.
    EXPECT_EQ(client.state, ThreadState::Blocked);
    EXPECT_EQ(ep.stats().senders, 0u);
    EXPECT_EQ(ep.stats().awaiting_reply, 1u);
    // Only the server that took the call may answer it.
    run(third);
    expect_error(ep.reply(sched, third, client.id, make_message(0)), Error::NotFound);
    run(server);
    expect_error(ep.reply(sched, server, 77, make_message(0)), Error::NotFound);
    Message r = make_message(2, 6);
    expect_done(ep.reply(sched, server, client.id, r));
    EXPECT_EQ(client.state, ThreadState::Ready);
    expect_error(ep.reply(sched, server, client.id, r), Error::NotFound);  // once only
    run(client);
    EXPECT_TRUE(client.wait_result.ok());
    expect_same(client.ipc.msg, r);
    EXPECT_EQ(client.ipc.peer, server.id);
    EndpointStats s = ep.stats();
    EXPECT_EQ(s.calls, 1u);
    EXPECT_EQ(s.sent, 0u);
    EXPECT_EQ(s.received, 1u);
    EXPECT_EQ(s.replies, 1u);
    EXPECT_EQ(s.awaiting_reply, 0u);
}

TEST_F(EndpointTest, CallToAWaitingServer)
{
    run(server);
    block_and_switch(ep.receive(sched, server, kForever), server);
    run(client);
    block_and_switch(ep.call(sched, client, make_message(3, 4), kForever), client);
    EXPECT_EQ(ep.stats().awaiting_reply, 1u);
    run(server);
    EXPECT_EQ(server.ipc.msg.label, 3u);
    EXPECT_EQ(server.ipc.peer, client.id);
    expect_done(ep.reply(sched, server, server.ipc.peer, make_message(4, 5)));
    run(client);
    EXPECT_EQ(client.ipc.msg.label, 4u);
    EXPECT_EQ(ep.stats().calls, 1u);
    EXPECT_EQ(ep.stats().replies, 1u);
}

// A client and a server exchange N call/reply pairs; each side is a small
// program, run one step whenever the scheduler makes its thread current.
TEST_F(EndpointTest, PingPong)
{
    constexpr uint64_t kRounds = 100;
    run(third);
    ASSERT_TRUE(sched.exit_current().ok());  // a dead bystander
    (void)sched.switch_to_next();

    bool client_waiting = false;  // resumed after a call: a reply is in its slot
    bool server_has_call = false;  // a call is in its slot, owed a reply
    uint64_t ping = 0;
    std::vector<Thread*> trace;
    for (int steps = 0; steps < 10000 && ping < kRounds; ++steps) {
        Thread* cur = sched.current();
        trace.push_back(cur);
        if (cur == &client) {
            if (client_waiting) {
                ASSERT_TRUE(client.wait_result.ok());
                ASSERT_EQ(client.ipc.msg.label, ping * 2 + 1);  // the server's answer
                ASSERT_EQ(client.ipc.msg.words[0], ping);
                if (++ping == kRounds)
                    break;
            }
            IpcOutcome out = ep.call(sched, client, make_message(ping * 2, ping), kForever);
            ASSERT_TRUE(out.must_block());  // a call always waits for its reply
            client_waiting = true;
        } else if (cur == &server) {
            if (server_has_call) {
                ASSERT_TRUE(server.wait_result.ok());
                Message r = make_message(server.ipc.msg.label + 1, server.ipc.msg.words[0]);
                ASSERT_TRUE(ep.reply(sched, server, server.ipc.peer, r).result.ok());
            }
            // Done: a call was already queued and is in the slot; Block: one
            // will be there when the server runs again.
            IpcOutcome out = ep.receive(sched, server, kForever);
            ASSERT_TRUE(out.must_block() || out.result.ok());
            server_has_call = true;
            if (!out.must_block())
                sched.yield();
        } else {
            ASSERT_EQ(cur, &idle) << "dead thread picked";
            sched.yield();
        }
        (void)sched.switch_to_next();
    }
    EXPECT_EQ(ping, kRounds);
    EndpointStats s = ep.stats();
    EXPECT_EQ(s.calls, kRounds);
    EXPECT_EQ(s.replies, kRounds);
    EXPECT_EQ(s.received, kRounds);
    EXPECT_EQ(s.sent, 0u);
    EXPECT_EQ(s.timeouts, 0u);
    EXPECT_EQ(s.max_depth, 1u);
    EXPECT_EQ(s.awaiting_reply, 0u);
    EXPECT_EQ(s.receivers, 1u);  // the server waits for the next ping
    // Strict alternation: each round is one client step and one server step;
    // the idle thread never runs and the dead one is never picked.
    for (Thread* t : trace) {
        EXPECT_NE(t, &third);
        EXPECT_NE(t, &idle);
    }
    EXPECT_LE(trace.size(), 2 * kRounds + 2);
    EXPECT_EQ(third.state, ThreadState::Dead);
    EXPECT_GE(client.switches, kRounds);
    EXPECT_GE(server.switches, kRounds);
}

TEST_F(EndpointTest, QueueBoundAndNonBlockingGiveBusy)
{
    Thread fourth(4, "fourth");
    ASSERT_TRUE(sched.add(fourth).ok());
    run(server);
    expect_error(ep.receive(sched, server, kNoWait), Error::Busy);  // nobody sending
    EXPECT_EQ(server.state, ThreadState::Running);
    run(client);
    expect_error(ep.send(sched, client, make_message(1), kNoWait), Error::Busy);
    block_and_switch(ep.send(sched, client, make_message(1), kForever), client);
    run(third);
    block_and_switch(ep.call(sched, third, make_message(2), kForever), third);
    run(fourth);
    expect_error(ep.send(sched, fourth, make_message(3), kForever), Error::Busy);  // bound 2
    EXPECT_EQ(fourth.state, ThreadState::Running);
    EndpointStats s = ep.stats();
    EXPECT_EQ(s.senders, 2u);
    EXPECT_EQ(s.max_depth, 2u);
    EXPECT_EQ(s.sent, 0u);
    // Receivers are bounded too.
    Endpoint small("small", 0);
    expect_error(small.receive(sched, fourth, kForever), Error::Busy);
    EXPECT_EQ(small.bound(), 0u);
    EXPECT_STREQ(small.name(), "small");
}

TEST_F(EndpointTest, BadArguments)
{
    run(client);
    Message big = make_message(1, 1, kMessageWords + 1);
    expect_error(ep.send(sched, client, big, kForever), Error::TooLong);
    expect_error(ep.call(sched, client, big, kForever), Error::TooLong);
    expect_error(ep.call(sched, client, make_message(1), kNoWait), Error::InvalidArgument);
    // Only the current thread acts.
    expect_error(ep.send(sched, server, make_message(1), kForever), Error::InvalidArgument);
    expect_error(ep.receive(sched, server, kForever), Error::InvalidArgument);
    expect_error(ep.reply(sched, server, client.id, make_message(1)), Error::InvalidArgument);
    EXPECT_EQ(ep.stats().senders + ep.stats().receivers, 0u);
    // The idle thread may not call (it would have to block).
    ASSERT_TRUE(sched.sleep_until(kForever).ok());
    (void)sched.switch_to_next();
    run(server);
    ASSERT_TRUE(sched.sleep_until(kForever).ok());
    (void)sched.switch_to_next();
    run(third);
    ASSERT_TRUE(sched.sleep_until(kForever).ok());
    (void)sched.switch_to_next();
    ASSERT_EQ(sched.current(), &idle);
    expect_error(ep.call(sched, idle, make_message(1), kForever), Error::InvalidArgument);
    expect_error(ep.receive(sched, idle, kForever), Error::InvalidArgument);
    EXPECT_EQ(ep.stats().calls, 0u);
}

TEST_F(EndpointTest, SendTimeoutLeavesTheQueue)
{
    run(client);
    block_and_switch(ep.send(sched, client, make_message(5), 40), client);
    sched.on_tick(39);
    EXPECT_EQ(client.state, ThreadState::Blocked);
    sched.on_tick(40);
    EXPECT_EQ(client.state, ThreadState::Ready);
    EXPECT_EQ(client.wait_result.error(), Error::Timeout);
    EndpointStats s = ep.stats();
    EXPECT_EQ(s.timeouts, 1u);
    EXPECT_EQ(s.senders, 0u);
    EXPECT_EQ(s.sent, 0u);
    // The message is gone with its sender: a receiver now waits.
    run(server);
    block_and_switch(ep.receive(sched, server, kForever), server);
    EXPECT_EQ(ep.stats().receivers, 1u);
}

TEST_F(EndpointTest, ReceiveTimeoutLeavesTheQueue)
{
    run(server);
    block_and_switch(ep.receive(sched, server, 10), server);
    EXPECT_EQ(sched.wake_expired(10), 1u);
    EXPECT_EQ(server.wait_result.error(), Error::Timeout);
    EXPECT_EQ(ep.stats().receivers, 0u);
    EXPECT_EQ(ep.stats().timeouts, 1u);
    // A sender now finds nobody and blocks instead of handing off.
    run(client);
    block_and_switch(ep.send(sched, client, make_message(1), kForever), client);
    EXPECT_EQ(ep.stats().received, 0u);
}

TEST_F(EndpointTest, CallTimesOutWaitingForTheReply)
{
    run(client);
    block_and_switch(ep.call(sched, client, make_message(1), 20), client);
    run(server);
    expect_done(ep.receive(sched, server, kForever));
    EXPECT_EQ(ep.stats().awaiting_reply, 1u);
    sched.on_tick(20);  // the one deadline covers send and reply
    EXPECT_EQ(client.wait_result.error(), Error::Timeout);
    EXPECT_EQ(ep.stats().awaiting_reply, 0u);
    EXPECT_EQ(ep.stats().timeouts, 1u);
    expect_error(ep.reply(sched, server, client.id, make_message(2)), Error::NotFound);
    EXPECT_EQ(ep.stats().replies, 0u);
}

TEST_F(EndpointTest, FifoAmongSenders)
{
    run(client);
    block_and_switch(ep.send(sched, client, make_message(10), kForever), client);
    run(third);
    block_and_switch(ep.send(sched, third, make_message(30), kForever), third);
    run(server);
    expect_done(ep.receive(sched, server, kForever));
    EXPECT_EQ(server.ipc.msg.label, 10u);
    expect_done(ep.receive(sched, server, kForever));
    EXPECT_EQ(server.ipc.msg.label, 30u);
    EXPECT_EQ(server.ipc.peer, third.id);
    EXPECT_EQ(ep.stats().received, 2u);
}

}  // namespace
}  // namespace exo
