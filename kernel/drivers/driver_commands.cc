// `drivers`: each driver's phase, state, init time and detail line.
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/drivers_hw.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "kernel/lib/tsc_math.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

uint64_t ns_of(uint64_t ticks) { return ticks_to_ns(ticks, timer::tsc_hz()); }

const char* driver_state(const BootRecord& r)
{
    if (r.status == TaskStatus::Skipped && !r.is_failure())
        return "absent";  // what it needs is absent (vga without PCI)
    switch (r.status) {
    case TaskStatus::Ok: return "active";
    case TaskStatus::Pending:
    case TaskStatus::Running:  // deferred=auto: its init is under way right now
    case TaskStatus::NotRun: return "pending";
    case TaskStatus::Absent: return "absent";
    default: return "failed";
    }
}

Result<void> cmd_drivers(CommandContext& ctx, int, const char* const*)
{
    const BootRunner& runner = boot_sequence::runner();
    DriverList list = drivers();
    Listing listing(ctx, "drivers");
    JsonWriter& json = listing.writer();
    listing.open_items();
    if (!ctx.json()) {
        print(ctx, "%-10s %-10s %-8s %9s  %s\n", "driver", "phase", "state", "init_us", "detail");
    }
    for (const DriverEntry* d = list.begin; d != list.end; ++d) {
        Result<size_t> index = runner.find(d->name);
        if (!index.ok())
            continue;
        const BootRecord& r = runner.record(index.value());
        const BootTask& t = runner.task(index.value());
        uint64_t init_ns = r.ran() ? ns_of(r.ticks()) : 0;
        if (ctx.json()) {
            json.begin_object();
            json.field_str("name", d->name);
            json.field_str("phase", boot_phase_name(t.phase));
            json.field_str("state", driver_state(r));
            json.field_u64("init_us", init_ns / 1000);
            json.field_str("detail", d->detail);
            json.end_object();
        } else {
            print(ctx, "%-10s %-10s %-8s ", d->name, boot_phase_name(t.phase), driver_state(r));
            print_us(ctx, init_ns, 9);
            print(ctx, "  %s\n", d->detail);
        }
    }
    return listing.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kDriversCommand, "drivers", "drivers [--json]", "drivers with phase, state, init time and detail",
    cmd_drivers, nullptr, nullptr, 0);

}  // namespace exo
