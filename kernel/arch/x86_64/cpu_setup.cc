// Critical boot tasks for the CPU itself: descriptor tables and the
// protection features (SDM Vol. 3A §4.1.3, §4.6).
#include "kernel/arch/x86_64/cpu_setup.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/drivers/pic8259/pic_hw.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/debug/klog_hw.h"

namespace exo::cpu {
namespace {

// CPUID feature bits (SDM Vol. 2A, CPUID instruction, Tables 3-8 to 3-20).
constexpr uint32_t kLeaf1EdxPge = 1u << 13;
constexpr uint32_t kLeaf7EbxSmep = 1u << 7;
constexpr uint32_t kLeaf7EbxSmap = 1u << 20;
constexpr uint32_t kExt1EdxNx = 1u << 20;

// Protection features set by enable_features() at boot; the identity
// (vendor, brand, family) filled by the first features() call.
constinit CpuFeatures g_features {};

Result<void> setup_gdt()
{
    gdt::init();
    return {};
}

Result<void> setup_idt()
{
    idt::init();
    pic::init();
    return {};
}

}  // namespace

void enable_features()
{
    // The trampoline (boot.S) already set EFER.NXE when the CPU has NX, and CR0.WP.
    uint32_t max_leaf = cpuid(0).eax;
    uint32_t l1_edx = cpuid(1).edx;
    uint32_t l7_ebx = max_leaf >= 7 ? cpuid(7).ebx : 0;
    g_features.nx = (rdmsr(msr::kEfer) & msr::kEferNxe) != 0;
    g_features.smep = l7_ebx & kLeaf7EbxSmep;
    g_features.smap = l7_ebx & kLeaf7EbxSmap;
    g_features.pge = l1_edx & kLeaf1EdxPge;
    uint64_t cr4 = read_cr4();
    if (g_features.pge)
        cr4 |= cr4::kPge;
    if (g_features.smep)
        cr4 |= cr4::kSmep;
    if (g_features.smap)
        cr4 |= cr4::kSmap;
    write_cr4(cr4);
}

bool nx_enabled() { return g_features.nx; }

// Identity for `cpu`, read on first use: nothing at boot needs it, and under
// TCG every instruction run before the prompt costs boot time.
const CpuFeatures& features()
{
    CpuFeatures& f = g_features;
    if (f.vendor[0])
        return f;
    CpuidResult max = cpuid(0);
    CpuidResult ext = cpuid(0x80000000);
    uint32_t l1_eax = cpuid(1).eax;
    if (ext.eax >= 0x80000004) {
        for (uint32_t i = 0; i < 3; ++i) {
            CpuidResult b = cpuid(0x80000002 + i);
            __builtin_memcpy(f.brand + i * 16, &b, 16);
        }
    }
    f.brand[48] = 0;
    f.family = ((l1_eax >> 8) & 0xF) + ((l1_eax >> 20) & 0xFF);
    f.model = ((l1_eax >> 4) & 0xF) | (((l1_eax >> 16) & 0xF) << 4);
    f.stepping = l1_eax & 0xF;
    __builtin_memcpy(f.vendor + 4, &max.edx, 4);
    __builtin_memcpy(f.vendor + 8, &max.ecx, 4);
    f.vendor[12] = 0;
    __builtin_memcpy(f.vendor, &max.ebx, 4);  // last: a non-empty vendor marks the rest done
    return f;
}

namespace {

// The features were turned on by kernel_main's first call (enable_features);
// the task reports them.
Result<void> setup_features()
{
    log_debug("cpu: NX %s, SMEP %s, SMAP %s, PGE %s, WP on", g_features.nx ? "on" : "absent",
        g_features.smep ? "on" : "absent", g_features.smap ? "on" : "absent", g_features.pge ? "on" : "absent");
    return {};
}

}  // namespace

EXO_BOOT_TASK(kGdtTask, "gdt", BootPhase::Critical, setup_gdt);
EXO_BOOT_TASK(kIdtTask, "idt", BootPhase::Critical, setup_idt, "gdt");
EXO_BOOT_TASK(kCpuTask, "cpu", BootPhase::Critical, setup_features);

}  // namespace exo::cpu
