// Drivers are boot tasks with a line of detail for the shell's `drivers`:
//   EXO_DRIVER_TASK(ident, "name", BootPhase::Optional, &init, "requirement"...);
// The entry lives in the .drivers linker section next to the task; the
// task's record gives phase, state and init time.
#pragma once

#include "kernel/lib/format.h"
#include "kernel/platform/boot_sequence.h"

namespace exo {

struct DriverEntry {
    const char* name;
    char detail[88];
};

#define EXO_DRIVER_TASK(ident, task_name, phase, body, ...)                                        \
    EXO_BOOT_TASK(ident, task_name, phase, body __VA_OPT__(, ) __VA_ARGS__);                      \
    [[gnu::used, gnu::aligned(8), gnu::section(".drivers." task_name)]] constinit ::exo::DriverEntry \
        ident##_driver { task_name, {} }

struct DriverList {
    DriverEntry* begin;
    DriverEntry* end;
};
DriverList drivers();

DriverEntry* find_driver(const char* name);

template<typename... Args>
void driver_detail(const char* name, const char* fmt, const Args&... args)
{
    if (DriverEntry* d = find_driver(name))
        format_to(d->detail, sizeof d->detail, fmt, args...);
}

}  // namespace exo
