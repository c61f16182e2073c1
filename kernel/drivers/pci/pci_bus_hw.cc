#include "kernel/drivers/pci/pci_bus_hw.h"

#include "kernel/arch/x86_64/port_io.h"
#include "kernel/drivers/pci/pci_ids.h"
#include "kernel/drivers/drivers_hw.h"
#include "shell/kernel_commands.h"

namespace exo::pci_bus {
namespace {

constexpr size_t kMaxDevices = 32;

// Filled by the "pci" task, read-only afterwards.
constinit PciDevice g_devices[kMaxDevices] {};
constinit PciScan g_scan {};

Result<void> enumerate()
{
    PciConfig<X86PortIo> config { X86PortIo {} };
    TRY_VOID(config.probe());  // microvm: no host bridge -> Absent
    ConfigSpace space = config.space();
    g_scan = pci_enumerate(space, g_devices, kMaxDevices, BarSizing::Probe);
    driver_detail("pci", "mechanism #1 at 0xcf8, %u devices on %u buses%s", g_scan.count, g_scan.buses,
        g_scan.truncated ? " (list truncated)" : "");
    return {};
}

Result<void> cmd_pci(CommandContext& ctx, int, const char* const*)
{
    Listing list(ctx, "devices");
    JsonWriter& json = list.writer();
    list.open_items();
    if (!ctx.json() && g_scan.count == 0) {
        print(ctx, "no PCI devices (pci is not active: see `drivers`, run `init pci`)\n");
    }
    for (size_t i = 0; i < g_scan.count; ++i) {
        const PciDevice& d = g_devices[i];
        char where[16];
        format_to(where, sizeof where, "%02x:%02x.%u", d.addr.bus, d.addr.dev, d.addr.fn);
        if (ctx.json()) {
            char id[16];
            format_to(id, sizeof id, "%04x:%04x", d.vendor, d.device);
            json.begin_object();
            json.field_str("address", where);
            json.field_str("id", id);
            json.field_u64("class", d.class_code);
            json.field_u64("subclass", d.subclass);
            json.field_str("kind", pci_class_name(d.class_code, d.subclass));
            json.field_u64("irq", d.irq_line);
            json.begin_array("bars");
            for (const PciBar& b : d.bars) {
                if (!b.present())
                    continue;
                json.begin_object();
                json.field_hex("base", b.base);
                json.field_u64("size", b.size);
                json.field_bool("io", b.is_io);
                json.field_bool("prefetchable", b.prefetchable);
                json.end_object();
            }
            json.end_array();
            json.end_object();
            continue;
        }
        print(ctx, "%s %04x:%04x class %02x.%02x %-22s irq %u\n", where, d.vendor, d.device, d.class_code,
            d.subclass, pci_class_name(d.class_code, d.subclass), d.irq_line);
        for (const PciBar& b : d.bars) {
            if (b.present())
                print(ctx, "    %s %p size 0x%x%s\n", b.is_io ? "io " : "mem", b.base, b.size,
                    b.prefetchable ? " prefetchable" : "");
        }
    }
    return list.finish();
}

}  // namespace

EXO_DRIVER_TASK(kPciTask, "pci", BootPhase::Optional, enumerate);
EXO_SHELL_COMMAND(kPciCommand, "pci", "pci [--json]", "PCI devices: address, vendor:device, class, BARs", cmd_pci,
    nullptr, nullptr, 0);

bool has_class(uint8_t class_code, uint8_t subclass)
{
    for (size_t i = 0; i < g_scan.count; ++i) {
        if (g_devices[i].class_code == class_code && g_devices[i].subclass == subclass)
            return true;
    }
    return false;
}

}  // namespace exo::pci_bus
