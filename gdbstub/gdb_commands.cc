// `gdb`: the stub's state and protocol counters.
#include "gdbstub/gdb_server_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_gdb(CommandContext& ctx, int, const char* const*)
{
    const GdbStub& stub = gdb_server::stub();
    const RspCounters& c = stub.counters();
    if (ctx.json()) {
        JsonWriter json(ctx.out());
        begin_json(json);
        json.field_bool("attached", stub.attached());
        json.field_bool("no_ack", stub.ack_mode() == RspAckMode::Off);
        json.field_u64("stops", gdb_server::stops());
        json.field_u64("packets_in", c.packets_in);
        json.field_u64("packets_out", c.packets_out);
        json.field_u64("bad_checksums", c.bad_checksums);
        json.field_u64("retransmits", c.retransmits);
        json.field_u64("resyncs", c.resyncs);
        json.field_u64("oversized", c.oversized);
        json.field_u64("interrupts", c.interrupts);
        json.field_u64("breakpoints", stub.breakpoint_count());
        return end_json(json);
    }
    print(ctx, "gdb stub on COM2: %s, %s mode, %u stops, %u breakpoints set\n",
        stub.attached() ? "attached" : "not attached", stub.ack_mode() == RspAckMode::Off ? "no-ack" : "ack",
        gdb_server::stops(), stub.breakpoint_count());
    print(ctx, "packets in %u out %u; bad checksums %u, retransmits %u, resyncs %u, oversized %u, Ctrl-C %u\n",
        c.packets_in, c.packets_out, c.bad_checksums, c.retransmits, c.resyncs, c.oversized, c.interrupts);
    return {};
}

}  // namespace

EXO_SHELL_COMMAND(kGdbCommand, "gdb", "gdb [--json]", "GDB stub state and packet counters", cmd_gdb, nullptr,
    nullptr, 0);

}  // namespace exo
