// Human-readable names for the PCI class codes a PC or QEMU machine shows
// (PCI Code and ID Assignment Specification 1.x, §1 "Base Class" tables).
// Deliberately small: specific names for the common functions, the base-class
// name for everything else in a known class, "Other" beyond that.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

namespace pci {

struct ClassName {
    uint8_t class_code;
    uint8_t subclass;
    const char* name;
};

// alignas(8): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
alignas(8) constexpr ClassName kSubclassNames[] = {
    { 0x01, 0x01, "IDE controller" },
    { 0x01, 0x06, "SATA controller" },  // prog-if 01h: AHCI
    { 0x01, 0x08, "NVMe controller" },
    { 0x02, 0x00, "Ethernet controller" },
    { 0x03, 0x00, "VGA controller" },
    { 0x04, 0x03, "Audio device" },
    { 0x06, 0x00, "Host bridge" },
    { 0x06, 0x01, "ISA bridge" },
    { 0x06, 0x04, "PCI bridge" },
    { 0x0C, 0x03, "USB controller" },
    { 0x0C, 0x05, "SMBus controller" },
};

// Indexed by base class 00h-0Ch.
// alignas(8): the element's alignment, not the ABI's 16 for arrays and aggregates (padding).
alignas(8) constexpr const char* kBaseClassNames[] = {
    "Unclassified device", "Mass storage controller", "Network controller", "Display controller",
    "Multimedia controller", "Memory controller", "Bridge", "Communication controller",
    "System peripheral", "Input device", "Docking station", "Processor", "Serial bus controller",
};

}  // namespace pci

constexpr const char* pci_class_name(uint8_t class_code, uint8_t subclass)
{
    for (const pci::ClassName& c : pci::kSubclassNames) {
        if (c.class_code == class_code && c.subclass == subclass)
            return c.name;
    }
    if (class_code < sizeof(pci::kBaseClassNames) / sizeof(pci::kBaseClassNames[0]))
        return pci::kBaseClassNames[class_code];
    return "Other";
}

}  // namespace exo
