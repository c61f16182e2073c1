// Shell commands about the machine as a whole: `cpu`, `uptime`, `log`,
// `watch`, `fault`, `poweroff`, `reboot`.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/cpu_setup.h"
#include "kernel/lib/tsc_math.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/drivers/acpi/power_hw.h"
#include "kernel/drivers/cmos_rtc/rtc_hw.h"
#include "kernel/drivers/uart16550/serial_input_hw.h"
#include "shell/kernel_commands.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "shell/command_table.h"
#include "shell/tokenizer.h"

namespace exo {
namespace {

Result<void> cmd_cpu(CommandContext& ctx, int, const char* const*)
{
    const cpu::CpuFeatures& f = cpu::features();
    uint64_t hz = timer::tsc_hz();  // first: it may measure, which sets the source
    if (ctx.json()) {
        JsonWriter json(ctx.out());
        begin_json(json);
        json.field_str("vendor", f.vendor);
        json.field_str("brand", f.brand);
        json.field_u64("family", f.family);
        json.field_u64("model", f.model);
        json.field_u64("stepping", f.stepping);
        json.field_u64("tsc_hz", hz);
        json.field_str("tsc_source", timer::tsc_source_name(timer::tsc_source()));
        json.field_u64("tsc", cpu::rdtsc());
        json.field_bool("nx", f.nx);
        json.field_bool("smep", f.smep);
        json.field_bool("smap", f.smap);
        json.field_hex("cr0", cpu::read_cr0());
        json.field_hex("cr4", cpu::read_cr4());
        return end_json(json);
    }
    print(ctx, "%s %s (family %u model %u stepping %u)\n", f.vendor, f.brand, f.family, f.model, f.stepping);
    print(ctx, "TSC %u kHz from %s, now %u\n", hz / 1000, timer::tsc_source_name(timer::tsc_source()),
        cpu::rdtsc());
    print(ctx, "NX %s, SMEP %s, SMAP %s, WP on; CR0 0x%x CR4 0x%x\n", f.nx ? "on" : "absent",
        f.smep ? "on" : "absent", f.smap ? "on" : "absent", cpu::read_cr0(), cpu::read_cr4());
    return {};
}

Result<void> cmd_uptime(CommandContext& ctx, int, const char* const*)
{
    uint64_t us = timer::uptime_us();
    Result<int64_t> wall = rtc_clock::unix_now();  // after `init rtc`
    if (ctx.json()) {
        JsonWriter json(ctx.out());
        begin_json(json);
        json.field_u64("uptime_us", us);
        json.field_u64("ticks", timer::ticks());
        json.field_u64("tick_hz", timer::kTickHz);
        json.field_u64("tsc_hz", timer::tsc_hz());
        if (wall.ok())
            json.field_i64("unix_time", wall.value());
        return end_json(json);
    }
    uint64_t s = us / 1000000;
    print(ctx, "up %u:%02u:%02u.%03u (%u timer ticks at %u Hz)\n", s / 3600, (s / 60) % 60, s % 60,
        (us / 1000) % 1000, timer::ticks(), timer::kTickHz);
    if (wall.ok())
        print(ctx, "wall clock: %d seconds since 1970-01-01 UTC (CMOS RTC)\n", wall.value());
    return {};
}

Result<void> cmd_log(CommandContext& ctx, int, const char* const*)
{
    const LogRing& ring = klog_ring();
    uint64_t hz = timer::tsc_hz();
    uint64_t entry = boot_sequence::tsc_entry();
    Listing list(ctx, "records");
    JsonWriter& json = list.writer();
    if (ctx.json())
        json.field_u64("dropped", ring.dropped());
    list.open_items();
    ring.read_from(ring.first_seq(), [&](const LogRecord& r) {
        uint64_t us = r.timestamp > entry ? ticks_to_us(r.timestamp - entry, hz) : 0;
        if (ctx.json()) {
            json.begin_object();
            json.field_u64("seq", r.seq);
            json.field_u64("time_us", us);
            json.field_str("level", log_level_name(r.level));
            json.key("text");
            json.str(r.text, r.length);
            json.end_object();
        } else {
            print(ctx, "[%6u.%06u] %-5s %s\n", us / 1000000, us % 1000000, log_level_name(r.level),
                FormatStr { r.text, r.length });
        }
    });
    return list.finish();
}

// `watch CMD MS`: the feed for live plots. Repeats `CMD --json` until a key.
Result<void> cmd_watch(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 3)
        return ctx.usage_error();
    const CommandTable* table = ctx.table();
    const Command* target = table ? table->find(argv[1]) : nullptr;
    if (!target || __builtin_strcmp(argv[1], "watch") == 0)
        return ctx.fail(Error::NotFound, "no such command", argv[1]);
    Result<uint64_t> ms = parse_u64(argv[2]);
    if (!ms.ok() || ms.value() < 10 || ms.value() > 60000)
        return ctx.fail(Error::InvalidArgument, "interval must be 10..60000 ms", argv[2]);
    uint64_t hz = timer::tsc_hz();
    if (!hz)
        return ctx.fail(Error::Busy, "TSC not calibrated yet, try again");
    uint64_t period = us_to_ticks(ms.value() * 1000, hz);
    const char* args[3] = { argv[1], "--json", nullptr };
    uint64_t next = cpu::rdtsc();
    for (;;) {
        (void)table->dispatch(ctx.out(), 2, args);
        next += period;
        while (cpu::rdtsc() < next) {
            if (serial_input::try_read().ok())
                return {};
            cpu::sti_hlt();  // the 100 Hz tick or a key wakes us
        }
        if (serial_input::try_read().ok())
            return {};
    }
}

// Runs the current thread's stack into its guard page: the #PF cannot push
// its frame on the dead stack, so the CPU raises #DF, which runs on its own
// IST stack and prints the report instead of triple-faulting.
constinit volatile bool g_keep_recursing = true;

[[gnu::noinline]] uint64_t overflow_stack(uint64_t depth)
{
    volatile uint8_t frame[256];
    frame[0] = static_cast<uint8_t>(depth);
    uint64_t below = g_keep_recursing ? overflow_stack(depth + 1) : 0;
    return below + frame[0];
}

// Deliberate faults, to see the exception report a person would get.
Result<void> cmd_fault(CommandContext& ctx, int argc, const char* const* argv)
{
    if (argc != 2)
        return ctx.usage_error();
    if (__builtin_strcmp(argv[1], "pagefault") == 0) {
        volatile uint64_t* unmapped = reinterpret_cast<volatile uint64_t*>(0xFFFF8FF000000000);
        *unmapped = 1;
    } else if (__builtin_strcmp(argv[1], "ud") == 0) {
        asm volatile("ud2");
    } else if (__builtin_strcmp(argv[1], "stack") == 0) {
        print(ctx, "%u\n", overflow_stack(0));
    } else {
        return ctx.usage_error();
    }
    return {};
}

Result<void> cmd_poweroff(CommandContext&, int, const char* const*) { power::poweroff(); }
Result<void> cmd_reboot(CommandContext&, int, const char* const*) { power::reboot(); }

constexpr const char* kFaultWords[] = { "pagefault", "ud", "stack", nullptr };

}  // namespace

EXO_SHELL_COMMAND(kCpuCommand, "cpu", "cpu [--json]", "CPU identity, features and TSC", cmd_cpu, nullptr, nullptr, 0);
EXO_SHELL_COMMAND(kUptimeCommand, "uptime", "uptime [--json]", "time since the kernel's first instruction",
    cmd_uptime, nullptr, nullptr, 0);
EXO_SHELL_COMMAND(kLogCommand, "log", "log [--json]", "the kernel log ring", cmd_log, nullptr, nullptr, 0);
EXO_SHELL_COMMAND(kWatchCommand, "watch", "watch CMD MS", "repeat `CMD --json` every MS ms until a key is pressed",
    cmd_watch, nullptr, nullptr, 2);
EXO_SHELL_COMMAND(kFaultCommand, "fault", "fault pagefault|ud|stack", "trigger a kernel exception (shows the report)",
    cmd_fault, kFaultWords, nullptr, 1);
EXO_SHELL_COMMAND(kPoweroffCommand, "poweroff", "poweroff", "power the machine off (ACPI S5)", cmd_poweroff, nullptr,
    nullptr, 0);
EXO_SHELL_COMMAND(kRebootCommand, "reboot", "reboot", "reset the machine", cmd_reboot, nullptr, nullptr, 0);

}  // namespace exo
