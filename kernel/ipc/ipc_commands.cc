// `ipc`: every registered endpoint's message counters and queue depths.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/ipc/ipc_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_ipc(CommandContext& ctx, int, const char* const*)
{
    Listing list(ctx, "endpoints");
    JsonWriter& json = list.writer();
    list.open_items();
    if (!ctx.json()) {
        print(ctx, "%-10s %8s %8s %8s %8s %8s %5s %5s %5s\n", "endpoint", "sent", "calls", "received", "replies",
            "timeouts", "maxq", "sendq", "recvq");
    }
    for (size_t i = 0; i < ipc::kMaxEndpoints; ++i) {
        Endpoint* ep = ipc::endpoint_at(i);
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

EXO_SHELL_COMMAND(kIpcCommand, "ipc", "ipc [--json]", "IPC endpoints: message counts and queue depths", cmd_ipc,
    nullptr, nullptr, 0);

}  // namespace exo
