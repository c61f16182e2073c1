// Synchronous IPC for kernel threads: the binding of kernel/ipc/endpoint.h
// to the scheduler. Each call may block the current thread (deadline in
// timer ticks, absolute; kForever for none) and returns once it is woken.
#pragma once

#include "kernel/ipc/endpoint.h"
#include "kernel/lib/result.h"

namespace exo::ipc {

constexpr size_t kMaxEndpoints = 8;

// Endpoints are listed by the `ipc` command once registered.
Result<void> register_endpoint(Endpoint& ep);
Result<void> send(Endpoint& ep, const Message& msg, uint64_t deadline);
// The message, and who sent it (for reply).
Result<Message> receive(Endpoint& ep, uint64_t deadline, uint32_t* sender);
Result<Message> call(Endpoint& ep, const Message& msg, uint64_t deadline);
Result<void> reply(Endpoint& ep, uint32_t client, const Message& msg);

// The kernel's demo service: replies to every call with label + 1 and the
// words echoed (the IPC round trip of `bench`).
Endpoint& echo_endpoint();
// Its server thread; started by the shell right after the prompt (nothing
// calls the endpoint before a command does), not on the boot path.
Result<void> start_echo_server();

// The registered endpoint in slot `index`, or null (free slot or past the end).
Endpoint* endpoint_at(size_t index);

}  // namespace exo::ipc
