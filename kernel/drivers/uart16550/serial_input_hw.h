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

}  // namespace exo::serial_input
