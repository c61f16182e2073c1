// `pci`: the devices the "pci" task found, with their BARs.
#include "kernel/drivers/pci/pci_bus_hw.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/pci/pci_ids.h"
#include "shell/kernel_commands.h"

namespace exo {
namespace {

Result<void> cmd_pci(CommandContext& ctx, int, const char* const*)
{
    Listing list(ctx, "devices");
    JsonWriter& json = list.writer();
    list.open_items();
    if (pci_bus::device_count() == 0) {
        // Not probed yet, or probed and there is no bus (microvm).
        const BootRunner& runner = boot_sequence::runner();
        Result<size_t> task = runner.find("pci");
        list.text(task.ok() && runner.record(task.value()).finished()
                ? "no PCI bus on this machine: no devices\n"
                : "no PCI devices yet: `init pci` probes the bus\n");
    }
    for (size_t i = 0; i < pci_bus::device_count(); ++i) {
        const PciDevice& d = pci_bus::device(i);
        char where[16], id[16];
        format_to(where, sizeof where, "%02x:%02x.%u", d.addr.bus, d.addr.dev, d.addr.fn);
        format_to(id, sizeof id, "%04x:%04x", d.vendor, d.device);
        // Text shows class and subclass in hex, JSON as numbers.
        if (list.json())
            json.begin_object();
        // The buffers as pointers (format_to NUL-terminates): no bounded spans built.
        list.fields("{address} {id} class {:02x}{!class}.{:02x}{!subclass} {kind:-22s} irq {irq}\n",
            static_cast<const char*>(where), static_cast<const char*>(id),
            d.class_code, d.class_code, d.subclass, d.subclass, pci_class_name(d.class_code, d.subclass), d.irq_line);
        if (list.json())
            json.begin_array("bars");
        for (const PciBar& b : d.bars) {
            if (b.present())
                // The kind as a pointer: the ternary of two char[4] literals is an array (a span).
                list.row("    {:s} {base:p} size 0x{:x}{!size}{!io}{:s}{!prefetchable}\n",
                    static_cast<const char*>(b.is_io ? "io " : "mem"), b.base, b.size, b.size, b.is_io, b.prefetchable ? " prefetchable" : "", b.prefetchable);
        }
        if (list.json()) {
            json.end_array();
            json.end_object();
        }
    }
    return list.finish();
}

}  // namespace

EXO_SHELL_COMMAND(kPciCommand, "pci", "pci [--json]",
    "PCI devices and BARs", cmd_pci,
    nullptr, 0);

}  // namespace exo
