#include "kernel/ipc/ipc_hw.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/sched/threads_hw.h"

namespace exo::ipc {
namespace {

// Changed only with interrupts off.
constinit Endpoint* g_endpoints[kMaxEndpoints] {};
constinit Endpoint g_echo {};  // set up by start_ipc()

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
        ++m.value().label;  // the answer, in place
        (void)reply(g_echo, client, m.value());
    }
}

Result<void> start_ipc()
{
    // The server thread starts right after the prompt (start_echo_server).
    g_echo.set_up("echo");
    return register_endpoint(g_echo);
}

}  // namespace

EXO_BOOT_TASK(kIpcTask, "ipc", BootPhase::Essential, start_ipc, "scheduler");

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

// Slots are only ever filled, never emptied: reading one needs no lock.
Endpoint* endpoint_at(size_t index) { return index < kMaxEndpoints ? g_endpoints[index] : nullptr; }

Result<void> start_echo_server()
{
    // Same priority as the shell: a call hands the CPU straight over.
    TRY_VOID(threads::spawn("ipc-echo", echo_server, nullptr, 1));
    return {};
}

}  // namespace exo::ipc
