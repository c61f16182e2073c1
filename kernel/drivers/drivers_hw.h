// Drivers are boot tasks with a line of detail for the shell's `drivers`:
//   EXO_DRIVER_TASK(ident, "name", BootPhase::Optional, &init, "requirement"...);
// The entry lives in the .drivers linker section next to the task; the
// task's record gives phase, state and init time.
#pragma once

#include "kernel/lib/format.h"
#include "kernel/boot/boot_sequence_hw.h"

namespace exo {

constexpr size_t kDriverDetailSize = 88;

// The entry is read-only (in .rodata); its detail text lives in .bss.
struct DriverEntry {
    const char* name;
    char* detail;
};

#define EXO_DRIVER_TASK(ident, task_name, phase, body, ...)                                               \
    EXO_BOOT_TASK(ident, task_name, phase, body __VA_OPT__(, ) __VA_ARGS__);                             \
    constinit char ident##_detail[::exo::kDriverDetailSize] {};                                          \
    [[gnu::used, gnu::aligned(8), gnu::section(".drivers." task_name)]] constinit const ::exo::DriverEntry \
        ident##_driver { task_name, ident##_detail }

struct DriverList {
    const DriverEntry* begin;
    const DriverEntry* end;
};
DriverList drivers();

const DriverEntry* find_driver(const char* name);

// Formats the named driver's detail line (exo::format syntax). Out of line:
// the lookup, its null check and the formatting call were inlined per site.
void driver_detail_v(const char* name, const char* fmt, FormatSig sig, ...);

template<typename... Args>
void driver_detail(const char* name, const char* fmt, const Args&... args)
{
    driver_detail_v(name, fmt, detail::signature<Args...>(), EXO_FORMAT_WORDS(args));
}

}  // namespace exo
