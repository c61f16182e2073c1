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

}  // namespace

EXO_SHELL_COMMAND(kCpuCommand, "cpu", "cpu [--json]", "CPU identity, features and TSC", cmd_cpu, nullptr, nullptr, 0);

}  // namespace exo
