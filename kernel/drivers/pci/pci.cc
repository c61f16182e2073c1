#include "kernel/drivers/pci/pci.h"

namespace exo {

namespace {

constexpr uint64_t kUpper32 = 0xFFFFFFFF00000000;
constexpr uint16_t kDecode = pci::kCommandIoSpace | pci::kCommandMemorySpace;

class Walk {
public:
    Walk(const ConfigSpace& cs, PciDevice* out, size_t capacity, BarSizing sizing)
        : m_cs(cs), m_out(out), m_capacity(capacity), m_sizing(sizing)
    {
    }

    void bus(uint8_t bus, uint8_t depth)
    {
        m_visited[bus / 32] |= 1u << (bus % 32);
        ++m_scan.buses;
        for (uint8_t dev = 0; dev < pci::kDevicesPerBus; ++dev) {
            uint8_t functions = 1;
            for (uint8_t fn = 0; fn < functions; ++fn) {
                if (m_scan.truncated)
                    return;
                m_at = { bus, dev, fn };  // reset each time: function() may recurse
                uint32_t id = read(pci::kRegVendorDevice);
                if ((id & 0xFFFF) == pci::kVendorNone)
                    continue;  // for function 0: no device, the loop ends
                if (function(id, depth) & pci::kHeaderMultiFunction)  // meaningful on function 0
                    functions = pci::kFunctionsPerDevice;
            }
        }
    }

    PciScan result() const { return m_scan; }

private:
    uint32_t read(uint8_t off) { return m_cs.read32(m_cs.ctx, m_at, off); }
    void write(uint8_t off, uint32_t v) { m_cs.write32(m_cs.ctx, m_at, off, v); }

    // Records the function at m_at; returns its header type byte.
    uint8_t function(uint32_t id, uint8_t depth)
    {
        if (m_scan.count == m_capacity) {
            m_scan.truncated = true;
            return 0;
        }
        PciDevice& d = m_out[m_scan.count++];
        d = PciDevice {};
        d.addr = m_at;
        d.vendor = static_cast<uint16_t>(id);
        d.device = static_cast<uint16_t>(id >> 16);
        uint32_t cls = read(pci::kRegClass);
        d.revision = static_cast<uint8_t>(cls);
        d.prog_if = static_cast<uint8_t>(cls >> 8);
        d.subclass = static_cast<uint8_t>(cls >> 16);
        d.class_code = static_cast<uint8_t>(cls >> 24);
        d.header_type = static_cast<uint8_t>(read(pci::kRegHeaderType) >> 16);
        uint32_t irq = read(pci::kRegInterrupt);
        d.irq_line = static_cast<uint8_t>(irq);
        d.irq_pin = static_cast<uint8_t>(irq >> 8);

        uint8_t type = d.header_type & pci::kHeaderTypeMask;
        // CardBus (type 2) and unknown layouts: no BARs we understand. A host
        // bridge keeps decode on while sized: it may route the RAM we run from.
        bool host = d.class_code == pci::kClassBridge && d.subclass == pci::kSubclassHostBridge;
        bars(d.bars, type == pci::kHeaderTypeDevice ? pci::kBarsDevice : type == pci::kHeaderTypeBridge ? pci::kBarsBridge : 0,
             host ? 0 : kDecode);

        if (type != pci::kHeaderTypeBridge || d.class_code != pci::kClassBridge || d.subclass != pci::kSubclassPciBridge)
            return d.header_type;
        uint8_t secondary = static_cast<uint8_t>(read(pci::kRegBusNumbers) >> 8);
        d.secondary_bus = secondary;
        // A bus seen before means a loop or a misprogrammed bridge; either way
        // its devices are already listed (or it is bus 0 again).
        if (depth >= pci::kMaxBridgeDepth || (m_visited[secondary / 32] & (1u << (secondary % 32)))) {
            ++m_scan.skipped_bridges;
            return d.header_type;
        }
        bus(secondary, static_cast<uint8_t>(depth + 1));
        return d.header_type;
    }

    // Writes all-ones, reads back the implemented address bits, restores.
    uint32_t size_mask(uint8_t off, uint32_t original)
    {
        write(off, ~0u);
        uint32_t mask = read(off);
        write(off, original);
        return mask;
    }

    // `decode`: the command bits turned off while sizing.
    void bars(PciBar* out, uint8_t count, uint16_t decode)
    {
        bool sizing = m_sizing == BarSizing::Probe && count > 0;
        uint16_t command = 0, turned_off = 0;
        if (sizing) {
            command = static_cast<uint16_t>(read(pci::kRegCommand));
            turned_off = command & decode;
            // The upper half (status) is RW1C: writing zeros there changes nothing.
            if (turned_off)
                write(pci::kRegCommand, static_cast<uint16_t>(command & ~turned_off));
        }
        for (uint8_t i = 0; i < count; ++i) {
            uint8_t off = static_cast<uint8_t>(pci::kRegBar0 + i * 4);
            uint32_t lo = read(off);
            PciBar& b = out[i];
            b.is_io = lo & pci::kBarIo;
            uint32_t flags = b.is_io ? pci::kBarIoMask : pci::kBarMemMask;
            b.prefetchable = !b.is_io && (lo & pci::kBarPrefetchable);
            b.is_64bit = !b.is_io && (lo & pci::kBarTypeMask) == pci::kBarType64 && i + 1 < count;
            b.base = lo & ~flags;
            uint32_t lo_mask = sizing ? size_mask(off, lo) & ~flags : 0;
            // I/O BARs may hardwire the upper 16 bits to zero; sizes are < 64 KiB.
            if (b.is_io && lo_mask)
                lo_mask |= pci::kIoUpperHalf;
            uint64_t mask = lo_mask ? kUpper32 | lo_mask : 0;
            if (b.is_64bit) {
                uint8_t hi_off = static_cast<uint8_t>(off + 4);
                uint32_t hi = read(hi_off);
                b.base |= uint64_t(hi) << 32;
                if (sizing)
                    mask = (uint64_t(size_mask(hi_off, hi)) << 32) | lo_mask;
                ++i;  // the upper half's slot stays empty
            }
            b.size = mask ? ~mask + 1 : 0;
        }
        if (turned_off)
            write(pci::kRegCommand, command);
    }

    const ConfigSpace& m_cs;
    PciDevice* m_out;
    size_t m_capacity;
    BarSizing m_sizing;
    PciScan m_scan;
    PciAddress m_at;  // the function being read
    uint32_t m_visited[256 / 32] {};
};

}  // namespace

PciScan pci_enumerate(const ConfigSpace& cs, PciDevice* out, size_t capacity, BarSizing sizing)
{
    Walk walk(cs, out, capacity < pci::kMaxScanDevices ? capacity : pci::kMaxScanDevices, sizing);
    walk.bus(0, 0);
    return walk.result();
}

}  // namespace exo
