// Human-readable names for the PCI class codes a PC or QEMU machine shows
// (PCI Code and ID Assignment Specification 1.x, §1 "Base Class" tables).
// Deliberately small: specific names for the common functions, the base-class
// name for everything else in a known class, "Other" beyond that.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

namespace pci {

// Packed, not tables of pointers (no 8-byte pointer per name). Each entry:
// the class byte, the subclass byte, then the name and its NUL. The bytes
// are literals of their own so a name's first letter is not read as a hex
// digit.
alignas(1) constexpr char kSubclassNames[] =
    "\x01\x01" "IDE controller\0"
    "\x01\x06" "SATA controller\0"  // prog-if 01h: AHCI
    "\x01\x08" "NVMe controller\0"
    "\x02\x00" "Ethernet controller\0"
    "\x03\x00" "VGA controller\0"
    "\x04\x03" "Audio device\0"
    "\x06\x00" "Host bridge\0"
    "\x06\x01" "ISA bridge\0"
    "\x06\x04" "PCI bridge\0"
    "\x0C\x03" "USB controller\0"
    "\x0C\x05" "SMBus controller\0";

// Base classes 00h-0Ch in order, each name ending in NUL (the literal's own
// NUL, an empty name, ends the list).
alignas(1) constexpr char kBaseClassNames[] =
    "Unclassified device\0" "Mass storage controller\0" "Network controller\0" "Display controller\0"
    "Multimedia controller\0" "Memory controller\0" "Bridge\0" "Communication controller\0"
    "System peripheral\0" "Input device\0" "Docking station\0" "Processor\0" "Serial bus controller\0";

}  // namespace pci

constexpr const char* pci_class_name(uint8_t class_code, uint8_t subclass)
{
    const char* end = pci::kSubclassNames + sizeof(pci::kSubclassNames) - 1;
    for (const char* p = pci::kSubclassNames; p < end; p += 2 + __builtin_strlen(p + 2) + 1) {
        if (static_cast<uint8_t>(p[0]) == class_code && static_cast<uint8_t>(p[1]) == subclass)
            return p + 2;
    }
    const char* name = pci::kBaseClassNames;
    for (uint8_t i = 0; i < class_code && *name != '\0'; ++i)
        name += __builtin_strlen(name) + 1;
    return *name != '\0' ? name : "Other";
}

}  // namespace exo
