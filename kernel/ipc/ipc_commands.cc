// `ipc`: every registered endpoint's message counters and queue depths.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/ipc/ipc_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_ipc(CommandContext& ctx, int, const char* const*)
{
    Listing list(ctx, "endpoints");
    list.open_items();
    list.text("endpoint       sent    calls received  replies timeouts  maxq sendq recvq\n");
    for (size_t i = 0; i < ipc::kMaxEndpoints; ++i) {
        Endpoint* ep = ipc::endpoint_at(i);
        if (!ep)
            continue;
        EndpointStats s;
        {
            cpu::InterruptGuard guard;
            s = ep->stats();
        }
        list.row("{name:-10s} {sent:8u} {calls:8u} {received:8u} {replies:8u} {timeouts:8u} {max_depth:5u} "
                 "{senders:5u} {receivers:5u}\n",
            s.name, s.sent, s.calls, s.received, s.replies, s.timeouts, s.max_depth, s.senders, s.receivers);
    }
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kIpcCommand, "ipc", "ipc [--json]",
    "IPC endpoint counters", cmd_ipc,
    nullptr, 0);

}  // namespace exo
