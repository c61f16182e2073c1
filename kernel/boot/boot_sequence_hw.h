// Boot tasks are declared next to the code they start, with
//   EXO_BOOT_TASK(ident, "name", BootPhase::X, &body, "requirement", ...);
// which puts a constinit BootTask into the .boot_tasks linker section (the
// explicit alignment stops GCC padding entries to 32 bytes, so the section
// is a plain array; the needs list's alignas(8) likewise drops the ABI's
// 16-byte alignment of arrays, and the padding before each). The
// runner (kernel/boot/boot_runner.h) orders them by name, not by position.
//
// The needs lists go to .boot_needs, which linker.ld does not load: only
// cmake/gen_boot_graph.py reads them, from the first-stage ELF, and the
// kernel runs on the graph it resolved (BootRunner::adopt). In the kernel a
// task's depends_on therefore points at nothing: never follow it there.
// (About 300 B of rodata.)
#pragma once

#include "kernel/boot/boot_runner.h"
#include "kernel/boot/boot_task.h"
#include "kernel/boot/cmdline.h"

namespace exo {

#define EXO_BOOT_TASK(ident, task_name, phase, body, ...)                                    \
    alignas(8) [[gnu::section(".boot_needs")]] constexpr const char* ident##_needs[] = { __VA_ARGS__ __VA_OPT__(, ) nullptr }; \
    [[gnu::used, gnu::aligned(8), gnu::section(".boot_tasks." task_name)]] constinit const ::exo::BootTask \
        ident { task_name, phase, ident##_needs, body }

namespace boot_sequence {

// Runs the Critical and Essential phases and marks Optional tasks pending.
void run_to_prompt();
// The record the shell's `boot`, `drivers` and `init` commands read.
BootRunner& runner();
const KernelOptions& options();
// TSC at the kernel's first instruction and when the prompt was first shown.
uint64_t tsc_entry();
uint64_t tsc_prompt();
void mark_prompt();
// Called by the shell once the prompt is out, before it reads a byte: starts
// the service threads no boot task needs (the IPC echo server, the user
// sampler's sink), so the prompt does not wait for them.
void after_prompt();
// deferred=auto: runs the pending Optional tasks (after the prompt is up).
void run_deferred_now();

}  // namespace boot_sequence
}  // namespace exo
