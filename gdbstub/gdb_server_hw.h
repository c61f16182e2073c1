// The GDB stub's kernel side: COM2, the stop/resume loop, and the GdbTarget
// (registers from trap frames and saved thread contexts, fault-safe memory,
// debug registers, threads, `monitor` through the shell's command table).
#pragma once

#include "gdbstub/stub.h"
#include "kernel/arch/x86_64/trap_frame.h"

namespace exo::gdb_server {

// gdb=wait: stop in the stub until gdb attaches (called between the
// Critical and Essential phases).
void wait_for_attach();
// From panic paths: hand the crashed CPU to gdb if one is attached (or
// gdb=panic). Returns only if no debugger is there.
void enter_from_panic(TrapFrame& frame);
// While gdb single-steps, no thread switch may happen at IRQ exit.
bool holding_cpu();
// The stub is up and reads COM2 (false with gdb=off or without COM2).
bool listening();

const GdbStub& stub();
uint64_t stops();

}  // namespace exo::gdb_server
