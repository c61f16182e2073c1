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

// Filled by the "cpu" task; read-only afterwards.
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
    CpuidResult max = cpuid(0);
    CpuidResult ext = cpuid(0x80000000);
    CpuidResult l1 = cpuid(1);
    CpuidResult l7 = max.eax >= 7 ? cpuid(7) : CpuidResult {};
    CpuidResult e1 = ext.eax >= 0x80000001 ? cpuid(0x80000001) : CpuidResult {};

    g_features.nx = e1.edx & kExt1EdxNx;
    g_features.smep = l7.ebx & kLeaf7EbxSmep;
    g_features.smap = l7.ebx & kLeaf7EbxSmap;
    g_features.pge = l1.edx & kLeaf1EdxPge;
    __builtin_memcpy(g_features.vendor, &max.ebx, 4);
    __builtin_memcpy(g_features.vendor + 4, &max.edx, 4);
    __builtin_memcpy(g_features.vendor + 8, &max.ecx, 4);
    g_features.vendor[12] = 0;
    if (ext.eax >= 0x80000004) {
        for (uint32_t i = 0; i < 3; ++i) {
            CpuidResult b = cpuid(0x80000002 + i);
            __builtin_memcpy(g_features.brand + i * 16, &b, 16);
        }
    }
    g_features.brand[48] = 0;
    g_features.family = ((l1.eax >> 8) & 0xF) + ((l1.eax >> 20) & 0xFF);
    g_features.model = ((l1.eax >> 4) & 0xF) | (((l1.eax >> 16) & 0xF) << 4);
    g_features.stepping = l1.eax & 0xF;

    if (g_features.nx)
        wrmsr(msr::kEfer, rdmsr(msr::kEfer) | msr::kEferNxe);
    write_cr0(read_cr0() | cr0::kWriteProtect);
    uint64_t cr4 = read_cr4();
    if (g_features.pge)
        cr4 |= cr4::kPge;
    if (g_features.smep)
        cr4 |= cr4::kSmep;
    if (g_features.smap)
        cr4 |= cr4::kSmap;
    write_cr4(cr4);
}

namespace {

// The features were turned on by kernel_main's first call (enable_features);
// the task reports them.
Result<void> setup_features()
{
    log_debug("cpu: %s, NX %s, SMEP %s, SMAP %s, WP on", g_features.vendor, g_features.nx ? "on" : "absent",
        g_features.smep ? "on" : "absent", g_features.smap ? "on" : "absent");
    return {};
}

}  // namespace

EXO_BOOT_TASK(kGdtTask, "gdt", BootPhase::Critical, setup_gdt);
EXO_BOOT_TASK(kIdtTask, "idt", BootPhase::Critical, setup_idt, "gdt");
EXO_BOOT_TASK(kCpuTask, "cpu", BootPhase::Critical, setup_features);

const CpuFeatures& features() { return g_features; }

}  // namespace exo::cpu
