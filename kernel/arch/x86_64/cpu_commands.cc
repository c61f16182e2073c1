// `cpu`: CPU identity, protection features and the TSC.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/cpu_setup.h"
#include "kernel/drivers/pit8254/timer_hw.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_cpu(CommandContext& ctx, int, const char* const*)
{
    const cpu::CpuFeatures& f = cpu::features();
    uint64_t hz = timer::tsc_hz();  // first: it may measure, which sets the source
    // Text shows the features as on/absent and the TSC in kHz; JSON as bools and Hz.
    return emit_record(ctx,
        "{vendor} {brand} (family {family} model {model} stepping {stepping})\n"
        "TSC {:u}{!tsc_hz} kHz from {tsc_source}, now {tsc}\n"
        "NX {:s}{!nx}, SMEP {:s}{!smep}, SMAP {:s}{!smap}, WP on; CR0 0x{cr0:x} CR4 0x{cr4:x}\n",
        c_str(f.vendor), c_str(f.brand), f.family, f.model, f.stepping, hz / 1000, hz,
        timer::tsc_source_name(timer::tsc_source()),
        cpu::rdtsc(), f.nx ? "on" : "absent", f.nx, f.smep ? "on" : "absent", f.smep, f.smap ? "on" : "absent",
        f.smap, cpu::read_cr0(), cpu::read_cr4());
}

}  // namespace

EXO_SHELL_COMMAND(kCpuCommand, "cpu", "cpu [--json]",
    "CPU id, features, TSC", cmd_cpu, nullptr, 0);

}  // namespace exo
