#include "kernel/drivers/pci/pci_bus_hw.h"

#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/drivers_hw.h"

namespace exo::pci_bus {
namespace {

constexpr size_t kMaxDevices = 32;

// Filled by the "pci" task, read-only afterwards.
constinit PciDevice g_devices[kMaxDevices] {};
constinit PciScan g_scan {};

Result<void> enumerate()
{
    PciConfig<X86PortIo> config { X86PortIo {} };
    Result<void> probed = config.probe();  // microvm: no host bridge -> Absent
    if (!probed.ok()) {
        driver_detail("pci", "no host bridge (mechanism #1 at 0xcf8)");
        return probed;
    }
    ConfigSpace space = config.space();
    g_scan = pci_enumerate(space, g_devices, kMaxDevices, BarSizing::Probe);
    driver_detail("pci", "mechanism #1 at 0xcf8, %u devices on %u buses%s", g_scan.count, g_scan.buses,
        g_scan.truncated ? " (truncated)" : "");
    return {};
}

}  // namespace

EXO_DRIVER_TASK(kPciTask, "pci", BootPhase::Optional, enumerate);

size_t device_count() { return g_scan.count; }

const PciDevice& device(size_t index) { return g_devices[index]; }

bool has_class(uint8_t class_code, uint8_t subclass)
{
    for (size_t i = 0; i < g_scan.count; ++i) {
        if (g_devices[i].class_code == class_code && g_devices[i].subclass == subclass)
            return true;
    }
    return false;
}

}  // namespace exo::pci_bus
