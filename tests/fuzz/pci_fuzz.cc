// The PCI bus walk over a fake configuration space built from the input:
// functions anywhere (a record may repeat across devices, so a whole bus of
// bridges fits in a few records), bridges to any bus (loops and depth
// included), BARs of any flags and size mask, emulated like hardware (only
// the implemented bits stick: all ones written, the size mask reads back).
// Checked: the walk writes only the command register and BARs of functions
// that exist, sizes a BAR only with that function's decode off (host bridges
// excepted), and leaves every register as it found it; every function it
// lists exists, once, with its registers read right; bus 0 is complete when
// nothing was truncated; the bus and bridge counts agree; a BAR with a
// plain power-of-two mask gets that size and its base.
// Input: capacity, flags (bit 0: size BARs), then records: bus, device,
// function, repeat count, id, class dword, header type, secondary bus,
// command, IRQ line and pin, six BAR values and masks.
#include <stdint.h>
#include <string.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "kernel/drivers/pci/pci.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

constexpr size_t kDwords = 64;
constexpr uint8_t kBar0 = 0x10;

struct Function {
    uint32_t regs[kDwords] {};
    uint32_t original[kDwords] {};
    uint32_t mask[pci::kBarsDevice] {};   // implemented address bits of each BAR
    uint32_t flags[pci::kBarsDevice] {};  // its read-only flag bits (none in a 64-bit BAR's upper half)
};

uint32_t key(PciAddress a) { return uint32_t { a.bus } << 8 | uint32_t { a.dev } << 3 | a.fn; }

struct Space {
    std::map<uint32_t, Function> functions;

    static uint8_t bar_count(const Function& f)
    {
        uint8_t type = f.regs[pci::kRegHeaderType / 4] >> 16 & pci::kHeaderTypeMask;
        return type == 0 ? pci::kBarsDevice : type == 1 ? pci::kBarsBridge : 0;
    }

    static bool host_bridge(const Function& f) { return (f.regs[pci::kRegClass / 4] >> 16) == 0x0600; }

    // A BAR reads back only its implemented bits: all ones written, the mask.
    static uint32_t read(void* ctx, PciAddress a, uint8_t offset)
    {
        FUZZ_CHECK(offset % 4 == 0 && a.dev < 32 && a.fn < 8);
        auto& fs = static_cast<Space*>(ctx)->functions;
        auto it = fs.find(key(a));
        return it == fs.end() ? 0xFFFFFFFF : it->second.regs[offset / 4];  // nobody answers
    }

    static void write(void* ctx, PciAddress a, uint8_t offset, uint32_t value)
    {
        auto& fs = static_cast<Space*>(ctx)->functions;
        auto it = fs.find(key(a));
        FUZZ_CHECK(it != fs.end());  // only functions that answered are written
        Function& f = it->second;
        size_t bar = (offset - kBar0) / 4;
        if (offset == pci::kRegCommand) {
            FUZZ_CHECK(value >> 16 == 0);  // status is RW1C: ones would clear it
            f.regs[1] = (f.regs[1] & 0xFFFF0000) | value;
        } else {
            FUZZ_CHECK(offset >= kBar0 && offset % 4 == 0 && bar < bar_count(f));
            if (value == 0xFFFFFFFF)  // sizing: decode must be off
                FUZZ_CHECK(host_bridge(f) || (f.regs[1] & (pci::kCommandIoSpace | pci::kCommandMemorySpace)) == 0);
            f.regs[offset / 4] = (value & f.mask[bar]) | (f.regs[offset / 4] & f.flags[bar]);
        }
    }
};

// `mask` (with the flag bits clear) is all ones above some bit: that power of two.
uint64_t plain_size(uint64_t mask)
{
    uint64_t size = ~mask + 1;
    return size != 0 && (size & (size - 1)) == 0 ? size : 0;
}

void check_bars(const Function& f, const PciDevice& d)
{
    uint8_t count = Space::bar_count(f);
    for (uint8_t i = 0; i < count; ++i) {
        uint32_t lo = f.original[kBar0 / 4 + i];
        const PciBar& b = d.bars[i];
        FUZZ_CHECK(b.is_io == ((lo & 1) != 0));
        if (b.is_io) {
            FUZZ_CHECK(b.base == (lo & ~pci::kBarIoMask) && !b.is_64bit);
            uint32_t m = f.mask[i] & ~pci::kBarIoMask & 0xFFFF;
            uint64_t want = m != 0 ? plain_size(0xFFFFFFFFFFFF0000 | m) : 0;
            if (want != 0 && (f.mask[i] & 0xFFFF0000) == 0)
                FUZZ_CHECK(b.size == want);
            continue;
        }
        bool wide = (lo & pci::kBarTypeMask) == pci::kBarType64 && i + 1 < count;
        FUZZ_CHECK(b.is_64bit == wide);
        uint64_t base = lo & ~pci::kBarMemMask;
        uint64_t mask = f.mask[i] & ~pci::kBarMemMask;
        if (wide) {
            base |= uint64_t { f.original[kBar0 / 4 + i + 1] } << 32;
            mask |= uint64_t { f.mask[i + 1] } << 32;
        } else if (mask != 0) {
            mask |= 0xFFFFFFFF00000000;
        }
        FUZZ_CHECK(b.base == base);
        if (mask != 0 && plain_size(mask) != 0)
            FUZZ_CHECK(b.size == plain_size(mask));
        if (wide)
            ++i;  // the upper half's slot
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    uint8_t capacity_choice = in.byte();
    size_t capacity = capacity_choice == 0 ? 1024 : capacity_choice;
    BarSizing sizing = in.flag() ? BarSizing::Probe : BarSizing::Skip;
    Space space;
    while (!in.empty()) {
        PciAddress at { in.byte(), static_cast<uint8_t>(in.byte() % 32), static_cast<uint8_t>(in.byte() % 8) };
        uint8_t repeat = in.byte() % 32;
        Function f;
        f.regs[0] = in.take<uint32_t>();
        f.regs[pci::kRegClass / 4] = in.take<uint32_t>();
        f.regs[pci::kRegHeaderType / 4] = uint32_t { in.byte() } << 16;
        uint8_t secondary = in.byte();
        f.regs[pci::kRegCommand / 4] = in.take<uint16_t>();
        f.regs[pci::kRegInterrupt / 4] = in.take<uint16_t>();
        for (size_t i = 0; i < pci::kBarsDevice; ++i) {
            uint32_t raw = in.take<uint32_t>();
            bool upper = i > 0 && f.flags[i - 1] == pci::kBarMemMask
                && (f.regs[kBar0 / 4 + i - 1] & pci::kBarTypeMask) == pci::kBarType64;
            f.flags[i] = upper ? 0 : raw & 1 ? pci::kBarIoMask : pci::kBarMemMask;
            f.mask[i] = in.take<uint32_t>() & ~f.flags[i];
            f.regs[kBar0 / 4 + i] = (raw & f.mask[i]) | (raw & f.flags[i]);
        }
        if ((f.regs[0] & 0xFFFF) == pci::kVendorNone)
            continue;  // that is how an absent function reads
        for (uint8_t d = at.dev; d <= at.dev + repeat && d < pci::kDevicesPerBus; ++d) {
            Function copy = f;
            // The n-th copy's bridge leads to secondary + 8n (+ its function).
            uint8_t bus = static_cast<uint8_t>(secondary + 8 * (d - at.dev));
            if (Space::bar_count(copy) == pci::kBarsBridge)  // a type 1 header: bus numbers, not BAR 2
                copy.regs[pci::kRegBusNumbers / 4] = uint32_t { bus } << 8 | at.bus;
            memcpy(copy.original, copy.regs, sizeof copy.regs);
            space.functions.emplace(key({ at.bus, d, at.fn }), copy);
        }
    }

    std::unique_ptr<PciDevice[]> out(new PciDevice[capacity]);
    ConfigSpace cs { &Space::read, &Space::write, &space };
    PciScan scan = pci_enumerate(cs, out.get(), capacity, sizing);

    size_t listed = capacity < pci::kMaxScanDevices ? capacity : pci::kMaxScanDevices;
    FUZZ_CHECK(scan.count <= listed && (scan.count == listed || !scan.truncated));
    for (auto& [k, f] : space.functions) {
        for (size_t i = 0; i < kDwords; ++i) {
            if (f.regs[i] != f.original[i])
                fprintf(stderr, "%02x:%02x.%x register %#zx: %#x, was %#x\n", k >> 8, k >> 3 & 31, k & 7, 4 * i,
                    f.regs[i], f.original[i]);
            FUZZ_CHECK(f.regs[i] == f.original[i]);  // as found
        }
    }
    std::set<uint32_t> seen;
    size_t bridges = 0;
    for (size_t i = 0; i < scan.count; ++i) {
        const PciDevice& d = out[i];
        auto it = space.functions.find(key(d.addr));
        FUZZ_CHECK(it != space.functions.end() && seen.insert(key(d.addr)).second);
        const Function& f = it->second;
        FUZZ_CHECK(d.vendor == (f.regs[0] & 0xFFFF) && d.device == f.regs[0] >> 16);
        uint32_t cls = f.regs[pci::kRegClass / 4];
        FUZZ_CHECK(d.revision == (cls & 0xFF) && d.prog_if == (cls >> 8 & 0xFF));
        FUZZ_CHECK(d.subclass == (cls >> 16 & 0xFF) && d.class_code == cls >> 24);
        FUZZ_CHECK(d.header_type == (f.regs[pci::kRegHeaderType / 4] >> 16 & 0xFF));
        FUZZ_CHECK(d.irq_line == (f.regs[pci::kRegInterrupt / 4] & 0xFF));
        FUZZ_CHECK(d.irq_pin == (f.regs[pci::kRegInterrupt / 4] >> 8 & 0xFF));
        bool bridge = (d.header_type & pci::kHeaderTypeMask) == pci::kHeaderTypeBridge && d.class_code == pci::kClassBridge
            && d.subclass == pci::kSubclassPciBridge;
        if (bridge)
            ++bridges;
        if (sizing == BarSizing::Probe)
            check_bars(f, d);
    }
    if (scan.truncated)
        return 0;
    // Bus 0 complete: function 0 of every device, the others when it says multifunction.
    for (uint8_t dev = 0; dev < pci::kDevicesPerBus; ++dev) {
        auto f0 = space.functions.find(key({ 0, dev, 0 }));
        if (f0 == space.functions.end())
            continue;
        bool multi = (f0->second.regs[pci::kRegHeaderType / 4] >> 16) & pci::kHeaderMultiFunction;
        for (uint8_t fn = 0; fn < (multi ? 8 : 1); ++fn) {
            if (space.functions.count(key({ 0, dev, fn })))
                FUZZ_CHECK(seen.count(key({ 0, dev, fn })));
        }
    }
    // Each bridge was followed (one more bus scanned) or skipped.
    FUZZ_CHECK(bridges == size_t { scan.buses } - 1 + scan.skipped_bridges);
    return 0;
}
