// PCI configuration space: access through configuration mechanism #1 (PCI
// Local Bus Specification 3.0 §3.2.2.3.2, ports 0xCF8/0xCFC) and a bus walk.
//
// The walk is pure: it sees config space only through a ConfigSpace accessor
// (two function pointers), so tests can serve a whole fake topology. PciConfig
// is the port-level accessor the kernel binds to real ports.
//
// Neither side locks: two config accesses interleaved between the address and
// data ports corrupt each other, so the caller keeps config access out of
// interrupt handlers (the kernel is single-CPU).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/io.h"
#include "kernel/lib/result.h"

namespace exo {

namespace pci {
constexpr uint16_t kConfigAddressPort = 0xCF8;
constexpr uint16_t kConfigDataPort = 0xCFC;
// CONFIG_ADDRESS layout (§3.2.2.3.2, Figure 3-2).
constexpr uint32_t kConfigEnable = 0x80000000;  // bit 31
constexpr uint32_t kBusShift = 16;              // bits 23:16
constexpr uint32_t kDeviceShift = 11;           // bits 15:11
constexpr uint32_t kFunctionShift = 8;          // bits 10:8
constexpr uint8_t kDwordMask = 0xFC;            // register number, bits 7:2
constexpr uint8_t kDevicesPerBus = 32;
constexpr uint8_t kFunctionsPerDevice = 8;

// Type 00h/01h common header (§6.1, Figure 6-1 and 6-2).
constexpr uint8_t kRegVendorDevice = 0x00;   // vendor 15:0, device 31:16
constexpr uint8_t kRegCommand = 0x04;        // command 15:0, status 31:16 (RW1C)
constexpr uint8_t kRegClass = 0x08;          // revision 7:0, prog-if, subclass, class 31:24
constexpr uint8_t kRegHeaderType = 0x0C;     // header type is byte 2 (0x0E)
constexpr uint8_t kRegBar0 = 0x10;
constexpr uint8_t kRegBusNumbers = 0x18;     // type 1: primary, secondary (0x19), subordinate
constexpr uint8_t kRegInterrupt = 0x3C;      // line 7:0, pin 15:8

constexpr uint16_t kVendorNone = 0xFFFF;     // no function answers (master abort)
constexpr uint8_t kHeaderMultiFunction = 0x80;
constexpr uint8_t kHeaderTypeMask = 0x7F;
constexpr uint8_t kHeaderTypeDevice = 0x00;
constexpr uint8_t kHeaderTypeBridge = 0x01;  // PCI-to-PCI bridge (PCI-to-PCI Bridge Spec 1.2 §3.2)
constexpr uint8_t kBarsDevice = 6;
constexpr uint8_t kBarsBridge = 2;
constexpr uint8_t kClassBridge = 0x06;
constexpr uint8_t kSubclassHostBridge = 0x00;
constexpr uint8_t kSubclassPciBridge = 0x04;

constexpr uint16_t kCommandIoSpace = 0x0001;      // §6.2.2 Command bit 0
constexpr uint16_t kCommandMemorySpace = 0x0002;  // bit 1

// Base Address Register encoding (§6.2.5.1).
constexpr uint32_t kBarIo = 0x1;          // bit 0: I/O space
constexpr uint32_t kBarIoMask = 0x3;      // I/O BAR flag bits
constexpr uint32_t kBarMemMask = 0xF;     // memory BAR flag bits
constexpr uint32_t kBarTypeMask = 0x6;    // bits 2:1
constexpr uint32_t kBarType64 = 0x4;      // 10b: 64-bit, takes the next BAR too
constexpr uint32_t kBarPrefetchable = 0x8;
constexpr uint32_t kIoUpperHalf = 0xFFFF0000;  // may be hardwired to 0 in I/O BARs

// Bridges followed below bus 0. Each bus is also scanned at most once.
constexpr uint8_t kMaxBridgeDepth = 8;
// Functions listed at most, whatever the caller's capacity: PciScan's bus
// and bridge counts are 8-bit, and each bus but bus 0 and each skipped
// bridge comes from a listed bridge, so they cannot wrap.
constexpr size_t kMaxScanDevices = 254;
}  // namespace pci

struct PciAddress {
    uint8_t bus { 0 };
    uint8_t dev { 0 };  // 0-31
    uint8_t fn { 0 };   // 0-7
};

// CONFIG_ADDRESS for one dword; out-of-range dev/fn are masked to their fields.
constexpr uint32_t pci_config_address(PciAddress a, uint8_t offset)
{
    return pci::kConfigEnable | (uint32_t(a.bus) << pci::kBusShift) | (uint32_t(a.dev & 0x1F) << pci::kDeviceShift)
        | (uint32_t(a.fn & 0x7) << pci::kFunctionShift) | (offset & pci::kDwordMask);
}

// Dword-granular config space. Offsets passed in are always dword aligned.
struct ConfigSpace {
    uint32_t (*read32)(void* ctx, PciAddress a, uint8_t offset) = nullptr;
    void (*write32)(void* ctx, PciAddress a, uint8_t offset, uint32_t value) = nullptr;
    void* ctx = nullptr;
};

struct PciBar {
    uint64_t base { 0 };
    uint64_t size { 0 };  // 0 when unused or not sized
    bool is_io { false };
    bool is_64bit { false };  // the next slot holds the upper half and stays empty
    bool prefetchable { false };
    bool present() const { return base != 0 || size != 0; }
};

struct PciDevice {
    PciAddress addr;
    uint16_t vendor { 0 };
    uint16_t device { 0 };
    uint8_t class_code { 0 };
    uint8_t subclass { 0 };
    uint8_t prog_if { 0 };
    uint8_t revision { 0 };
    uint8_t header_type { 0 };    // with the multifunction bit
    uint8_t irq_line { 0 };
    uint8_t irq_pin { 0 };        // 0 none, 1-4 INTA#-INTD#
    uint8_t secondary_bus { 0 };  // PCI-to-PCI bridges only
    PciBar bars[pci::kBarsDevice];
};

// Sizing writes all-ones to each BAR and reads back the mask (§6.2.5.1), so it
// briefly moves the device's decode window: the walk clears the command
// register's I/O and memory decode bits first, restores each BAR's original
// value, then the original decode bits. Host bridges keep decode on (they may
// route RAM). Skip sizing where drivers already run.
enum class BarSizing : uint8_t { Skip, Probe };

// 8 bytes: returned in one register. At 16 (a size_t count) the result was
// a 128-bit value whose spill slot realigned the caller's stack.
struct PciScan {
    uint32_t count { 0 };          // devices stored in the caller's array
    bool truncated { false };      // more functions were found than fit
    uint8_t buses { 0 };           // buses scanned
    uint8_t skipped_bridges { 0 }; // bridges not followed: bus seen already, or too deep
};

// Walks bus 0 and, through PCI-to-PCI bridges, the buses behind it, storing
// functions in discovery order (depth first: a bridge's subtree follows it),
// at most min(capacity, pci::kMaxScanDevices) of them.
PciScan pci_enumerate(const ConfigSpace& cs, PciDevice* out, size_t capacity, BarSizing sizing);

template<PortIo Io>
class PciConfig {
public:
    constexpr explicit PciConfig(Io io) : m_io(io) {}

    // Mechanism #1 probe: CONFIG_ADDRESS is a real register only where a host
    // bridge decodes it; elsewhere (QEMU microvm) it reads back 0xFFFFFFFF.
    // The previous address is restored.
    Result<void> probe()
    {
        uint32_t saved = m_io.read32(pci::kConfigAddressPort);
        m_io.write32(pci::kConfigAddressPort, pci::kConfigEnable);
        uint32_t back = m_io.read32(pci::kConfigAddressPort);
        m_io.write32(pci::kConfigAddressPort, saved);
        return back == pci::kConfigEnable ? Result<void>() : Result<void>(Error::Absent);
    }

    // Reads take any offset: the containing dword is read and shifted down.
    uint32_t read32(PciAddress a, uint8_t offset)
    {
        m_io.write32(pci::kConfigAddressPort, pci_config_address(a, offset));
        return m_io.read32(pci::kConfigDataPort);
    }
    uint16_t read16(PciAddress a, uint8_t offset) { return static_cast<uint16_t>(read32(a, offset) >> ((offset & 2) * 8)); }
    uint8_t read8(PciAddress a, uint8_t offset) { return static_cast<uint8_t>(read32(a, offset) >> ((offset & 3) * 8)); }

    void write32(PciAddress a, uint8_t offset, uint32_t value)
    {
        m_io.write32(pci::kConfigAddressPort, pci_config_address(a, offset));
        m_io.write32(pci::kConfigDataPort, value);
    }

    // A word write through the matching data-port byte lane, so the other
    // half of the dword (e.g. the RW1C status register) is not written back.
    void write16(PciAddress a, uint8_t offset, uint16_t value)
    {
        m_io.write32(pci::kConfigAddressPort, pci_config_address(a, offset));
        m_io.write16(static_cast<uint16_t>(pci::kConfigDataPort + (offset & 2)), value);
    }

    // Binds this accessor for pci_enumerate; valid while *this lives.
    ConfigSpace space()
    {
        return ConfigSpace {
            [](void* c, PciAddress a, uint8_t off) { return static_cast<PciConfig*>(c)->read32(a, off); },
            [](void* c, PciAddress a, uint8_t off, uint32_t v) { static_cast<PciConfig*>(c)->write32(a, off, v); },
            this,
        };
    }

private:
    Io m_io;
};

}  // namespace exo
