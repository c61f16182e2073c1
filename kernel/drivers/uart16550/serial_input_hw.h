// COM1 receive path: IRQ 4 moves bytes from the UART into a ring; the shell
// takes them out. When the ring is full the handler stops reading, so the
// bytes wait in the UART (and QEMU holds the rest): nothing is dropped.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo::serial_input {

// Blocks (halting the CPU) until a byte arrives.
uint8_t read_blocking();
Result<uint8_t> try_read();
uint64_t bytes_received();
// Another input device (the PS/2 keyboard) adds bytes as if typed on COM1.
void inject(const char* bytes, size_t n);
// For the debugger's stop loop, where the kernel may be frozen anywhere:
// keep(b) stores a byte read from COM1 for the shell without waking anyone
// (false if the ring is full and it is lost); wake_readers() once resuming
// into code that runs with interrupts on.
bool keep(uint8_t b);
void wake_readers();
// Whether COM1 raises its receive interrupt yet (this driver's boot task
// has run): the stop loop may then sleep until a byte comes.
bool rx_interrupt_on();

}  // namespace exo::serial_input
