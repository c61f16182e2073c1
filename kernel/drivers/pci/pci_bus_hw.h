// The machine's PCI devices, enumerated once by the "pci" Optional task.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/drivers/pci/pci.h"

namespace exo::pci_bus {

constexpr uint8_t kClassDisplay = 0x03;
constexpr uint8_t kSubclassVga = 0x00;

// The devices found by the "pci" task (none before it has run).
size_t device_count();
const PciDevice& device(size_t index);

bool has_class(uint8_t class_code, uint8_t subclass);

}  // namespace exo::pci_bus
