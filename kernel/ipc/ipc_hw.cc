#include "kernel/ipc/ipc_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "shell/kernel_commands.h"
#include "kernel/sched/threads_hw.h"

namespace exo::ipc {
namespace {

constexpr size_t kMaxEndpoints = 8;

// Changed only with interrupts off.
constinit Endpoint* g_endpoints[kMaxEndpoints] {};
constinit Endpoint g_echo { "echo" };

// Runs one endpoint operation for the current thread; blocks if it must.
Result<void> finish(IpcOutcome outcome)
{
    if (!outcome.must_block())
        return outcome.result;
    threads::switch_away();
    return threads::current().wait_result;
}

void echo_server(void*)
{
    for (;;) {
        uint32_t client = 0;
        Result<Message> m = receive(g_echo, kForever, &client);
        if (!m.ok())
            continue;
        Message answer = m.value();
        ++answer.label;
        (void)reply(g_echo, client, answer);
    }
}

Result<void> start_ipc()
{
    TRY_VOID(register_endpoint(g_echo));
    // Same priority as the shell: a call hands the CPU straight over.
    TRY_VOID(threads::spawn("ipc-echo", echo_server, nullptr, 1));
    return {};
}

Result<void> cmd_ipc(CommandContext& ctx, int, const char* const*)
{
    Listing list(ctx, "endpoints");
    JsonWriter& json = list.writer();
    list.open_items();
    if (!ctx.json()) {
        print(ctx, "%-10s %8s %8s %8s %8s %8s %5s %5s %5s\n", "endpoint", "sent", "calls", "received", "replies",
            "timeouts", "maxq", "sendq", "recvq");
    }
    for (Endpoint* ep : g_endpoints) {
        if (!ep)
            continue;
        EndpointStats s;
        {
            cpu::InterruptGuard guard;
            s = ep->stats();
        }
        if (ctx.json()) {
            json.begin_object();
            json.field_str("name", s.name);
            json.field_u64("sent", s.sent);
            json.field_u64("calls", s.calls);
            json.field_u64("received", s.received);
            json.field_u64("replies", s.replies);
            json.field_u64("timeouts", s.timeouts);
            json.field_u64("max_depth", s.max_depth);
            json.field_u64("senders", s.senders);
            json.field_u64("receivers", s.receivers);
            json.end_object();
        } else {
            print(ctx, "%-10s %8u %8u %8u %8u %8u %5u %5u %5u\n", s.name, s.sent, s.calls, s.received, s.replies,
                s.timeouts, s.max_depth, s.senders, s.receivers);
        }
    }
    return list.finish();
}

}  // namespace

EXO_BOOT_TASK(kIpcTask, "ipc", BootPhase::Essential, start_ipc, "scheduler");
EXO_SHELL_COMMAND(kIpcCommand, "ipc", "ipc [--json]", "IPC endpoints: message counts and queue depths", cmd_ipc,
    nullptr, nullptr, 0);

Result<void> register_endpoint(Endpoint& ep)
{
    cpu::InterruptGuard guard;
    for (Endpoint*& slot : g_endpoints) {
        if (!slot) {
            slot = &ep;
            return {};
        }
    }
    return Error::NoMemory;
}

Result<void> send(Endpoint& ep, const Message& msg, uint64_t deadline)
{
    cpu::InterruptGuard guard;
    return finish(ep.send(threads::scheduler(), threads::current(), msg, deadline));
}

Result<Message> receive(Endpoint& ep, uint64_t deadline, uint32_t* sender)
{
    cpu::InterruptGuard guard;
    Thread& self = threads::current();
    TRY_VOID(finish(ep.receive(threads::scheduler(), self, deadline)));
    if (sender)
        *sender = self.ipc.peer;
    return self.ipc.msg;
}

Result<Message> call(Endpoint& ep, const Message& msg, uint64_t deadline)
{
    cpu::InterruptGuard guard;
    Thread& self = threads::current();
    TRY_VOID(finish(ep.call(threads::scheduler(), self, msg, deadline)));
    return self.ipc.msg;
}

Result<void> reply(Endpoint& ep, uint32_t client, const Message& msg)
{
    cpu::InterruptGuard guard;
    return finish(ep.reply(threads::scheduler(), threads::current(), client, msg));
}

Endpoint& echo_endpoint() { return g_echo; }

}  // namespace exo::ipc
