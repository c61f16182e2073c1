// `drivers`: each driver's phase, state, init time and detail line.
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

const char* driver_state(const BootRecord& r)
{
    static_assert(TaskStatus::NotRun < TaskStatus::Running && TaskStatus::Pending < TaskStatus::Running);
    if (r.status == TaskStatus::Ok)
        return "active";
    if (r.status <= TaskStatus::Running)  // deferred=auto: its init may be under way right now
        return "pending";
    // Failed, or skipped for a failed requirement; else absent, or skipped
    // because what it needs is absent (vga without PCI).
    return r.is_failure() ? "failed" : "absent";
}

Result<void> cmd_drivers(CommandContext& ctx, int, const char* const*)
{
    const BootRunner& runner = boot_sequence::runner();
    DriverList list = drivers();
    Listing listing(ctx, "drivers");
    listing.open_items();
    listing.text("driver      phase      state      init_us  detail\n");
    for (const DriverEntry* d = list.begin; d != list.end; ++d) {
        Result<size_t> index = runner.find(d->name);
        if (!index.ok())
            continue;
        const BootRecord& r = runner.record(index.value());
        const BootTask& t = runner.task(index.value());
        uint64_t init_ns = r.ran() ? timer::ticks_to_ns(r.ticks()) : 0;
        // Skipped (vga without PCI): what it needed, where a detail would be.
        char needs[32];
        const char* detail = d->detail;
        if (r.status == TaskStatus::Skipped && !detail[0]) {
            format_to(needs, sizeof needs, "needs %s", runner.task(r.blocked_by).name);
            detail = needs;
        }
        // init_us in text with one decimal: the integer part, then the tenths (text only).
        listing.row("{name:-11s} {phase:-10s} {state:-8s} {init_us:7u}.{:u}  {detail}\n", d->name,
            boot_phase_name(t.phase), driver_state(r), init_ns / 1000, init_ns % 1000 / 100, detail);
    }
    return listing.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kDriversCommand, "drivers", "drivers [--json]",
    "drivers: state, init time, detail", cmd_drivers, nullptr, 0);

}  // namespace exo
