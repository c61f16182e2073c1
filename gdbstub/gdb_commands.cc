// `gdb`: the stub's state and protocol counters.
#include "gdbstub/gdb_server_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_gdb(CommandContext& ctx, int, const char* const*)
{
    const GdbStub& stub = gdb_server::stub();
    const RspCounters& c = stub.counters();
    bool attached = stub.attached();
    bool listening = gdb_server::listening();
    bool no_ack = stub.ack_mode() == RspAckMode::Off;
    return emit_record(ctx,
        "gdb stub on COM2: {:s}{!attached}{!listening}, {:s}{!no_ack} mode, {stops} stops, {breakpoints} breakpoints set\n"
        "packets in {packets_in} out {packets_out}; bad checksums {bad_checksums}, retransmits {retransmits}, "
        "resyncs {resyncs}, oversized {oversized}, Ctrl-C {interrupts}\n",
        attached ? "attached" : listening ? "not attached" : "off (gdb=off)", attached, listening, no_ack ? "no-ack" : "ack",
        no_ack, gdb_server::stops(),
        stub.breakpoint_count(), c.packets_in, c.packets_out, c.bad_checksums, c.retransmits, c.resyncs, c.oversized,
        c.interrupts);
}

}  // namespace

EXO_SHELL_COMMAND(kGdbCommand, "gdb", "gdb [--json]",
    "GDB stub state and counters", cmd_gdb, nullptr, 0);

}  // namespace exo
