// kernel_main: from the trampoline (kernel/arch/x86_64/boot.S) to the shell.
// It validates how we were booted, records the boot information and the
// command line, then hands over to the boot task runner and the shell.
#include <stdint.h>

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/cpu_setup.h"
#include "kernel/boot/boot_info.h"
#include "kernel/boot/multiboot2.h"
#include "kernel/boot/pvh.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/uart16550/console_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/mm/memory_hw.h"
#include "kernel/debug/panic_hw.h"
#include "shell/shell_main_hw.h"
#include "kernel/sched/threads_hw.h"

extern "C" uint8_t shell_stack_bottom[];  // boot.S

namespace exo {

const uint8_t* read_low_phys(void*, uint64_t phys, size_t len);

namespace {

constexpr uint32_t kPvhBootMarker = 0x336EC578;  // set by _start_pvh in boot.S

// Written once here before anything else runs; read-only afterwards.
constinit BootInfo g_boot_info {};
constinit KernelOptions g_options {};
constinit uint64_t g_tsc_entry = 0;
// The shell's thread lives as long as the kernel: static, so starting it
// costs no heap set-up before the prompt (the heap's first use comes after).
// Raw .bss storage, constructed in kernel_main: a constinit Thread would
// cost its size in file bytes (.data).
alignas(Thread) constinit char g_shell_thread[sizeof(Thread)] {};
constinit threads::ThreadArch g_shell_arch {};  // all zero: .bss

void report_option(void*, const char* token, size_t length, CmdlineProblem problem)
{
    log_warn("cmdline: %s '%s' ignored", cmdline_problem_text(problem), FormatStr { token, static_cast<uint32_t>(length) });
}

void record_boot_info(uint32_t magic, uint32_t info_phys)
{
    BootInfo* bi = cpu::opaque(&g_boot_info);
    Result<void> parsed = Error::InvalidArgument;
    if (magic == kPvhBootMarker) {
        parsed = parse_pvh(info_phys, read_low_phys, nullptr, *bi);
    } else if (magic == mb2::boot_magic) {
        const uint8_t* info = memory::early_phys_to_virt(info_phys, sizeof(uint32_t));
        uint32_t total = 0;
        if (info)
            __builtin_memcpy(&total, info, sizeof total);
        info = memory::early_phys_to_virt(info_phys, total);
        parsed = info ? parse_multiboot2(magic, info, total, info_phys, *bi) : Result<void>(Error::NotMapped);
    } else {
        panic("bad boot magic 0x%x, not Multiboot2 0x%x or PVH", magic,
            mb2::boot_magic);
    }
    if (!parsed.ok())
        panic("boot information unreadable (%s boot): %s", magic == kPvhBootMarker ? "PVH" : "Multiboot2",
            error_name(parsed.error()));
}

}  // namespace

const BootInfo& boot_info() { return g_boot_info; }

// The PVH parser's reader, and the ACPI walk's (power_hw.cc): one function.
const uint8_t* read_low_phys(void*, uint64_t phys, size_t len)
{
    return memory::early_phys_to_virt(phys, len);
}

namespace boot_sequence {
const KernelOptions& options() { return g_options; }
uint64_t tsc_entry() { return g_tsc_entry; }
}  // namespace boot_sequence

}  // namespace exo

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint32_t info_phys, uint64_t tsc_entry)
{
    using namespace exo;
    g_tsc_entry = tsc_entry;
    cpu::enable_features();
    (void)console::init();
    log_info("Exo-OS 0.1 x86_64");
    record_boot_info(magic, info_phys);
    parse_cmdline(g_boot_info.cmdline, g_options, report_option, nullptr);
    klog_set_verbosity(g_options.log);
    // Every byte on the serial line costs microseconds under emulation: the
    // normal boot log is these lines; the rest is at log=verbose and in `log`.
    bool pvh = g_boot_info.source == BootSource::Pvh;
    log_info("boot: %s%s, %u KiB usable in %u regions", pvh ? "PVH direct boot" : "Multiboot2 from ",
        pvh ? "" : g_boot_info.loader_name, g_boot_info.total_usable_bytes() / 1024, g_boot_info.region_count);
    // As a pointer (it is NUL-terminated): no bounded span built for the array.
    log_info("cmdline: %s", static_cast<const char*>(g_boot_info.cmdline));

    boot_sequence::run_to_prompt();
    // The scheduler task depends on Critical tasks only and cannot fail, so
    // this is a broken build, not a degraded boot.
    if (!threads::started())
        panic("boot: the scheduler did not start");
    // The shell is a thread; deferred=auto runs the Optional tasks in a
    // background thread after the prompt is up (lower priority than the shell).
    auto* shell = new (g_shell_thread) Thread(0, "shell", 1);
    g_shell_arch.stack = static_kernel_stack(shell_stack_bottom);
    if (!threads::start(*shell, g_shell_arch, shell_main, nullptr).ok())
        panic("cannot start the shell thread");
    if (g_options.deferred == DeferredMode::Auto)
        (void)threads::spawn("deferred-init", [](void*) { boot_sequence::run_deferred_now(); }, nullptr, 2);
    // From here on this boot context is the idle thread.
    threads::yield();
    for (;;)
        cpu::sti_hlt();
}
