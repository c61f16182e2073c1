// `pci`: the devices the "pci" task found, with their BARs.
#include "kernel/drivers/pci/pci_bus_hw.h"
#include "kernel/drivers/pci/pci_ids.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_pci(CommandContext& ctx, int, const char* const*)
{
    Listing list(ctx, "devices");
    JsonWriter& json = list.writer();
    list.open_items();
    if (!ctx.json() && pci_bus::device_count() == 0) {
        print(ctx, "no PCI devices (pci is not active: see `drivers`, run `init pci`)\n");
    }
    for (size_t i = 0; i < pci_bus::device_count(); ++i) {
        const PciDevice& d = pci_bus::device(i);
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

EXO_SHELL_COMMAND(kPciCommand, "pci", "pci [--json]", "PCI devices: address, vendor:device, class, BARs", cmd_pci,
    nullptr, nullptr, 0);

}  // namespace exo
