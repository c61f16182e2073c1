// The I/O APIC (Intel 82093AA datasheet), used for one thing: delivering an
// ISA interrupt line as an NMI as well, so the GDB stub hears Ctrl-C on COM2
// even while the kernel spins with interrupts off (kgdb's NMI path). The
// 8259 keeps delivering the same line as an ordinary interrupt.
#pragma once

#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo::ioapic {

// Absent when no I/O APIC answers at the standard address.
Result<void> mirror_isa_irq_as_nmi(uint8_t irq);
// Back to masked (the 8259 alone delivers the line).
void unmirror_isa_irq(uint8_t irq);

}  // namespace exo::ioapic
