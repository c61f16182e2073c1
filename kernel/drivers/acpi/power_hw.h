// Ending the machine: ACPI S5 soft-off on machines with PM1 control
// registers (QEMU pc), QEMU's isa-debug-exit as the fallback; reset through
// the ACPI reset register, port 0xCF9 or the 8042, then a triple fault.
#pragma once

#include "kernel/drivers/acpi/acpi_tables.h"
#include "kernel/lib/result.h"

namespace exo::power {

[[noreturn]] void poweroff();
[[noreturn]] void reboot();

// The ACPI facts poweroff/reboot use, read from the firmware tables on
// first use (the "acpi" Optional task reads them early and reports them).
Result<const AcpiPowerInfo*> acpi_info();

}  // namespace exo::power
