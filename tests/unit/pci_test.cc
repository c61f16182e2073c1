#include "kernel/drivers/pci/pci.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernel/drivers/pci/pci_ids.h"
#include "tests/unit/fake_io.h"

using namespace exo;
using namespace exo::test;

namespace {

// One function's 256-byte config space. `writable` says which bits a write
// changes, which is how BAR sizing reads back a size mask.
struct FakeFunction {
    uint32_t cfg[64] {};
    uint32_t writable[64] {};
    bool saw_sizing_with_decode_on = false;

    FakeFunction& bar_mem32(int i, uint32_t base, uint32_t size, bool prefetch = false)
    {
        cfg[4 + i] = base | (prefetch ? pci::kBarPrefetchable : 0);
        writable[4 + i] = ~(size - 1) & ~pci::kBarMemMask;
        return *this;
    }
    FakeFunction& bar_mem64(int i, uint64_t base, uint64_t size, bool prefetch = false)
    {
        cfg[4 + i] = static_cast<uint32_t>(base) | pci::kBarType64 | (prefetch ? pci::kBarPrefetchable : 0);
        cfg[5 + i] = static_cast<uint32_t>(base >> 32);
        writable[4 + i] = static_cast<uint32_t>(~(size - 1)) & ~pci::kBarMemMask;
        writable[5 + i] = static_cast<uint32_t>(~(size - 1) >> 32);
        return *this;
    }
    // Upper 16 bits hardwired to zero, as many I/O BARs do.
    FakeFunction& bar_io(int i, uint32_t base, uint32_t size)
    {
        cfg[4 + i] = base | pci::kBarIo;
        writable[4 + i] = ~(size - 1) & 0xFFFC;
        return *this;
    }
    FakeFunction& irq(uint8_t line, uint8_t pin)
    {
        cfg[15] = line | (pin << 8);
        return *this;
    }
    FakeFunction& bus_numbers(uint8_t primary, uint8_t secondary, uint8_t subordinate)
    {
        cfg[6] = primary | (secondary << 8) | (subordinate << 16);
        return *this;
    }
};

struct Write {
    uint8_t bus, dev, fn, off;
    uint32_t value;
};

class FakePci {
public:
    FakeFunction& add(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor, uint16_t device, uint32_t class_rev,
                      uint8_t header_type, uint16_t command = 0x0007)
    {
        FakeFunction& f = m_fns[key({ bus, dev, fn })];
        f.cfg[0] = vendor | (uint32_t(device) << 16);
        f.cfg[1] = command | 0x02800000u;  // some status bits set (RW1C in real hardware)
        f.writable[1] = 0x0000FFFF;
        f.cfg[2] = class_rev;
        f.cfg[3] = uint32_t(header_type) << 16;
        return f;
    }

    FakeFunction* find(PciAddress a)
    {
        auto it = m_fns.find(key(a));
        return it == m_fns.end() ? nullptr : &it->second;
    }

    uint32_t read(PciAddress a, uint8_t off)
    {
        EXPECT_EQ(off % 4, 0) << "unaligned config read";
        ++reads;
        FakeFunction* f = find(a);
        return f ? f->cfg[off / 4] : 0xFFFFFFFF;  // master abort
    }

    void write(PciAddress a, uint8_t off, uint32_t v)
    {
        EXPECT_EQ(off % 4, 0) << "unaligned config write";
        writes.push_back({ a.bus, a.dev, a.fn, off, v });
        FakeFunction* f = find(a);
        if (!f)
            return;
        if (off >= pci::kRegBar0 && off < pci::kRegBar0 + 24 && v == ~0u && (f->cfg[1] & 3))
            f->saw_sizing_with_decode_on = true;
        uint32_t w = f->writable[off / 4];
        f->cfg[off / 4] = (f->cfg[off / 4] & ~w) | (v & w);
    }

    ConfigSpace space()
    {
        return ConfigSpace {
            [](void* c, PciAddress a, uint8_t off) { return static_cast<FakePci*>(c)->read(a, off); },
            [](void* c, PciAddress a, uint8_t off, uint32_t v) { static_cast<FakePci*>(c)->write(a, off, v); },
            this,
        };
    }

    std::map<uint32_t, FakeFunction> m_fns;
    std::vector<Write> writes;
    int reads = 0;

private:
    static uint32_t key(PciAddress a) { return (a.bus << 8) | (a.dev << 3) | a.fn; }
};

// QEMU `-M pc` (i440FX + PIIX3) with its default VGA and e1000, as lspci shows it.
void qemu_pc(FakePci& pci)
{
    pci.add(0, 0, 0, 0x8086, 0x1237, 0x06000002, 0x00);                     // i440FX host bridge
    pci.add(0, 1, 0, 0x8086, 0x7000, 0x06010000, 0x80);                     // PIIX3 ISA, multifunction
    pci.add(0, 1, 1, 0x8086, 0x7010, 0x01018000, 0x00).bar_io(4, 0xC040, 16);  // PIIX3 IDE
    pci.add(0, 1, 3, 0x8086, 0x7113, 0x06800003, 0x00).irq(9, 1);           // PIIX4 ACPI
    pci.add(0, 2, 0, 0x1234, 0x1111, 0x03000002, 0x00)                      // std VGA
        .bar_mem32(0, 0xFD000000, 16 << 20, true)
        .bar_mem32(2, 0xFEBF0000, 4096);
    pci.add(0, 3, 0, 0x8086, 0x100E, 0x02000003, 0x00)                      // e1000
        .bar_mem32(0, 0xFEBC0000, 128 << 10)
        .bar_io(1, 0xC000, 64)
        .irq(11, 1);
}

std::string bdf(const PciDevice& d)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%02x:%02x.%x", d.addr.bus, d.addr.dev, d.addr.fn);
    return buf;
}

std::vector<std::string> bdfs(const PciDevice* d, size_t n)
{
    std::vector<std::string> v;
    for (size_t i = 0; i < n; ++i)
        v.push_back(bdf(d[i]));
    return v;
}

using Strings = std::vector<std::string>;

// Bridge of class 06/04 with a type 1 header.
FakeFunction& bridge(FakePci& pci, uint8_t bus, uint8_t dev, uint8_t secondary)
{
    return pci.add(bus, dev, 0, 0x1B36, 0x0001, 0x06040000, pci::kHeaderTypeBridge)
        .bus_numbers(bus, secondary, secondary);
}

}  // namespace

TEST(Pci, ConfigAddressEncoding)
{
    EXPECT_EQ(pci_config_address({ 0, 0, 0 }, 0), 0x80000000u);
    EXPECT_EQ(pci_config_address({ 1, 0x1F, 7 }, 0xFF), 0x8001FFFCu);
    EXPECT_EQ(pci_config_address({ 0xFF, 3, 1 }, 0x3D), 0x80FF193Cu);
    EXPECT_EQ(pci_config_address({ 0, 32, 8 }, 0x10), 0x80000010u);  // out-of-range fields masked
}

TEST(Pci, PortAccessAndAlignment)
{
    constexpr PciAddress kDev { 0, 3, 0 };
    IoScript s;
    s.expected = {
        out(0xCF8, 0x80001800), in(0xCFC, 0x100E8086),  // read32 vendor/device
        out(0xCF8, 0x80001800), in(0xCFC, 0x100E8086),  // read16 at 0x02: device id
        out(0xCF8, 0x8000180C), in(0xCFC, 0x00800000),  // read8 at 0x0E: header type
        out(0xCF8, 0x80001810), in(0xCFC, 0xFEBC0000),  // read32 at 0x13 rounds down
        out(0xCF8, 0x80001810), out(0xCFC, 0xFFFFFFFF), // write32
        out(0xCF8, 0x80001804), out(0xCFE, 0x0000),     // write16 to status lane only
        out(0xCF8, 0x80001804), out(0xCFC, 0x0107),     // write16 to command lane
    };
    PciConfig<FakeIo> cfg { FakeIo(s) };
    EXPECT_EQ(cfg.read32(kDev, 0x00), 0x100E8086u);
    EXPECT_EQ(cfg.read16(kDev, 0x02), 0x100E);
    EXPECT_EQ(cfg.read8(kDev, 0x0E), 0x80);
    EXPECT_EQ(cfg.read32(kDev, 0x13), 0xFEBC0000u);
    cfg.write32(kDev, 0x10, 0xFFFFFFFF);
    cfg.write16(kDev, 0x06, 0x0000);
    cfg.write16(kDev, 0x04, 0x0107);
    EXPECT_TRUE(s.expected.empty());
}

TEST(Pci, ProbePresentRestoresAddress)
{
    IoScript s;
    s.expected = {
        in(0xCF8, 0x80001810), out(0xCF8, 0x80000000), in(0xCF8, 0x80000000), out(0xCF8, 0x80001810),
    };
    PciConfig<FakeIo> cfg { FakeIo(s) };
    EXPECT_TRUE(cfg.probe().ok());
    EXPECT_TRUE(s.expected.empty());
}

TEST(Pci, MicrovmHasNoConfigMechanism)
{
    IoScript s;
    s.fixed_reads[0xCF8] = 0xFFFFFFFF;
    s.fixed_reads[0xCFC] = 0xFFFFFFFF;
    s.strict = false;
    PciConfig<FakeIo> cfg { FakeIo(s) };
    EXPECT_EQ(cfg.probe().error(), Error::Absent);

    // Walking anyway finds nothing and stops after one bus.
    PciDevice devs[4];
    PciScan scan = pci_enumerate(cfg.space(), devs, 4, BarSizing::Probe);
    EXPECT_EQ(scan.count, 0u);
    EXPECT_FALSE(scan.truncated);
    EXPECT_EQ(scan.buses, 1);
}

TEST(Pci, QemuPcTopology)
{
    FakePci pci;
    qemu_pc(pci);
    pci.add(0, 3, 1, 0x8086, 0x100E, 0x02000003, 0x00);  // ghost: 00:03.0 is single-function
    std::map<uint32_t, FakeFunction> before = pci.m_fns;

    PciDevice devs[16];
    PciScan scan = pci_enumerate(pci.space(), devs, 16, BarSizing::Probe);
    EXPECT_EQ(scan.count, 6u);
    EXPECT_FALSE(scan.truncated);
    EXPECT_EQ(scan.buses, 1);
    EXPECT_EQ(scan.skipped_bridges, 0);
    EXPECT_EQ(bdfs(devs, scan.count), (Strings { "00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:03.0" }));

    const PciDevice& host = devs[0];
    EXPECT_EQ(host.vendor, 0x8086);
    EXPECT_EQ(host.device, 0x1237);
    EXPECT_EQ(host.class_code, 0x06);
    EXPECT_EQ(host.subclass, 0x00);
    EXPECT_EQ(host.revision, 0x02);
    EXPECT_STREQ(pci_class_name(host.class_code, host.subclass), "Host bridge");
    for (const PciBar& b : host.bars)
        EXPECT_FALSE(b.present());

    const PciDevice& isa = devs[1];
    EXPECT_EQ(isa.header_type, 0x80);
    EXPECT_STREQ(pci_class_name(isa.class_code, isa.subclass), "ISA bridge");

    const PciDevice& ide = devs[2];
    EXPECT_EQ(ide.device, 0x7010);
    EXPECT_EQ(ide.prog_if, 0x80);
    EXPECT_STREQ(pci_class_name(ide.class_code, ide.subclass), "IDE controller");
    EXPECT_FALSE(ide.bars[0].present());
    EXPECT_TRUE(ide.bars[4].is_io);
    EXPECT_EQ(ide.bars[4].base, 0xC040u);
    EXPECT_EQ(ide.bars[4].size, 16u);

    const PciDevice& acpi = devs[3];
    EXPECT_EQ(acpi.device, 0x7113);
    EXPECT_EQ(acpi.subclass, 0x80);
    EXPECT_EQ(acpi.irq_line, 9);
    EXPECT_EQ(acpi.irq_pin, 1);
    EXPECT_STREQ(pci_class_name(acpi.class_code, acpi.subclass), "Bridge");

    const PciDevice& vga = devs[4];
    EXPECT_EQ(vga.vendor, 0x1234);
    EXPECT_STREQ(pci_class_name(vga.class_code, vga.subclass), "VGA controller");
    EXPECT_EQ(vga.bars[0].base, 0xFD000000u);
    EXPECT_EQ(vga.bars[0].size, 16u << 20);
    EXPECT_TRUE(vga.bars[0].prefetchable);
    EXPECT_FALSE(vga.bars[0].is_io);
    EXPECT_FALSE(vga.bars[0].is_64bit);
    EXPECT_FALSE(vga.bars[1].present());
    EXPECT_EQ(vga.bars[2].base, 0xFEBF0000u);
    EXPECT_EQ(vga.bars[2].size, 4096u);
    EXPECT_FALSE(vga.bars[2].prefetchable);
    EXPECT_EQ(vga.irq_pin, 0);

    const PciDevice& nic = devs[5];
    EXPECT_STREQ(pci_class_name(nic.class_code, nic.subclass), "Ethernet controller");
    EXPECT_EQ(nic.bars[0].base, 0xFEBC0000u);
    EXPECT_EQ(nic.bars[0].size, 128u << 10);
    EXPECT_TRUE(nic.bars[1].is_io);
    EXPECT_EQ(nic.bars[1].base, 0xC000u);
    EXPECT_EQ(nic.bars[1].size, 64u);
    EXPECT_EQ(nic.irq_line, 11);

    // Sizing left every register as it found it, with decode off meanwhile.
    for (auto& [k, f] : pci.m_fns) {
        EXPECT_EQ(0, memcmp(f.cfg, before[k].cfg, sizeof f.cfg)) << "function key " << k;
        // The host bridge is sized with decode on, on purpose.
        EXPECT_TRUE(k == 0 || !f.saw_sizing_with_decode_on) << "function key " << k;
    }
    // The host bridge's decode stays on: it may be routing our RAM.
    int command_writes = 0;
    for (const Write& w : pci.writes) {
        EXPECT_FALSE(w.dev == 0 && w.off == pci::kRegCommand) << "host bridge decode toggled";
        command_writes += w.off == pci::kRegCommand;
    }
    EXPECT_EQ(command_writes, 2 * 5);  // off and on again for each other function
}

TEST(Pci, SkipSizingNeverWrites)
{
    FakePci pci;
    qemu_pc(pci);
    PciDevice devs[16];
    PciScan scan = pci_enumerate(pci.space(), devs, 16, BarSizing::Skip);
    EXPECT_EQ(scan.count, 6u);
    EXPECT_TRUE(pci.writes.empty());
    EXPECT_EQ(devs[4].bars[0].base, 0xFD000000u);
    EXPECT_EQ(devs[4].bars[0].size, 0u);
    EXPECT_TRUE(devs[4].bars[0].present());
    EXPECT_EQ(devs[5].bars[1].base, 0xC000u);
    EXPECT_TRUE(devs[5].bars[1].is_io);
}

TEST(Pci, DecodeOffDeviceIsNotReEnabled)
{
    FakePci pci;
    pci.add(0, 0, 0, 0x8086, 0x100E, 0x02000003, 0x00, /*command=*/0x0000).bar_mem32(0, 0xFEBC0000, 128 << 10);
    PciDevice devs[2];
    PciScan scan = pci_enumerate(pci.space(), devs, 2, BarSizing::Probe);
    ASSERT_EQ(scan.count, 1u);
    EXPECT_EQ(devs[0].bars[0].size, 128u << 10);
    for (const Write& w : pci.writes)
        EXPECT_NE(w.off, pci::kRegCommand);
    EXPECT_EQ(pci.m_fns.begin()->second.cfg[1] & 0xFFFF, 0u);
}

TEST(Pci, SixtyFourBitBars)
{
    FakePci pci;
    pci.add(0, 4, 0, 0x1AF4, 0x1041, 0x02000001, 0x00)
        .bar_mem64(0, 0x0000008000000000ull, 8ull << 30, true)  // above 4 GiB, 8 GiB large
        .bar_mem64(2, 0xFE000000, 16 << 10)                      // 64-bit BAR placed below 4 GiB
        .bar_io(4, 0xC080, 32);
    // BAR 5 claims 64-bit but has no slot for its upper half: read as 32-bit.
    pci.m_fns.begin()->second.cfg[9] = 0xFD000000 | pci::kBarType64;
    pci.m_fns.begin()->second.writable[9] = ~(4096u - 1) & ~pci::kBarMemMask;

    PciDevice devs[2];
    PciScan scan = pci_enumerate(pci.space(), devs, 2, BarSizing::Probe);
    ASSERT_EQ(scan.count, 1u);
    const PciBar* b = devs[0].bars;
    EXPECT_TRUE(b[0].is_64bit);
    EXPECT_TRUE(b[0].prefetchable);
    EXPECT_EQ(b[0].base, 0x0000008000000000ull);
    EXPECT_EQ(b[0].size, 8ull << 30);
    EXPECT_FALSE(b[1].present());  // upper half of BAR 0
    EXPECT_TRUE(b[2].is_64bit);
    EXPECT_FALSE(b[2].prefetchable);
    EXPECT_EQ(b[2].base, 0xFE000000u);
    EXPECT_EQ(b[2].size, 16u << 10);
    EXPECT_FALSE(b[3].present());
    EXPECT_TRUE(b[4].is_io);
    EXPECT_EQ(b[4].size, 32u);
    EXPECT_FALSE(b[5].is_64bit);
    EXPECT_EQ(b[5].base, 0xFD000000u);
    EXPECT_EQ(b[5].size, 4096u);

    const FakeFunction& f = pci.m_fns.begin()->second;
    EXPECT_EQ(f.cfg[4], 0x0000000Cu);  // restored after sizing
    EXPECT_EQ(f.cfg[5], 0x00000080u);
}

TEST(Pci, BridgeToSecondaryBus)
{
    FakePci pci;
    pci.add(0, 0, 0, 0x8086, 0x29C0, 0x06000000, 0x00);
    bridge(pci, 0, 0x1E, 1).bar_mem32(0, 0xFEA00000, 4096);
    pci.add(0, 0x1F, 0, 0x8086, 0x2918, 0x06010002, 0x80);
    pci.add(1, 0, 0, 0x1AF4, 0x1000, 0x02000000, 0x00).bar_io(0, 0xD000, 32).irq(10, 1);

    PciDevice devs[8];
    PciScan scan = pci_enumerate(pci.space(), devs, 8, BarSizing::Probe);
    EXPECT_EQ(bdfs(devs, scan.count), (Strings { "00:00.0", "00:1e.0", "01:00.0", "00:1f.0" }));
    EXPECT_EQ(scan.buses, 2);
    EXPECT_EQ(scan.skipped_bridges, 0);
    const PciDevice& br = devs[1];
    EXPECT_EQ(br.header_type, pci::kHeaderTypeBridge);
    EXPECT_EQ(br.secondary_bus, 1);
    EXPECT_STREQ(pci_class_name(br.class_code, br.subclass), "PCI bridge");
    EXPECT_EQ(br.bars[0].size, 4096u);
    // Only two BARs in a type 1 header: 0x18 holds bus numbers, not a BAR.
    for (int i = 1; i < pci::kBarsDevice; ++i)
        EXPECT_FALSE(br.bars[i].present()) << i;
    EXPECT_EQ(devs[2].vendor, 0x1AF4);
    EXPECT_EQ(devs[2].bars[0].base, 0xD000u);
    EXPECT_EQ(devs[2].irq_line, 10);
    EXPECT_EQ(devs[3].secondary_bus, 0);
}

TEST(Pci, BridgeBackToBusZeroDoesNotLoop)
{
    FakePci pci;
    pci.add(0, 0, 0, 0x8086, 0x1237, 0x06000002, 0x00);
    bridge(pci, 0, 5, 0);  // misprogrammed: secondary = its own bus
    PciDevice devs[8];
    PciScan scan = pci_enumerate(pci.space(), devs, 8, BarSizing::Skip);
    EXPECT_EQ(scan.count, 2u);
    EXPECT_EQ(scan.buses, 1);
    EXPECT_EQ(scan.skipped_bridges, 1);
}

TEST(Pci, LoopThroughSeveralBusesIsCut)
{
    FakePci pci;
    bridge(pci, 0, 1, 1);
    bridge(pci, 1, 0, 2);
    bridge(pci, 2, 0, 1);  // back to bus 1
    pci.add(2, 1, 0, 0x8086, 0x100E, 0x02000003, 0x00);
    PciDevice devs[8];
    PciScan scan = pci_enumerate(pci.space(), devs, 8, BarSizing::Skip);
    EXPECT_EQ(bdfs(devs, scan.count), (Strings { "00:01.0", "01:00.0", "02:00.0", "02:01.0" }));
    EXPECT_EQ(scan.buses, 3);
    EXPECT_EQ(scan.skipped_bridges, 1);
}

TEST(Pci, BridgeDepthIsBounded)
{
    FakePci pci;
    for (int bus = 0; bus < 20; ++bus)
        bridge(pci, static_cast<uint8_t>(bus), 0, static_cast<uint8_t>(bus + 1));
    PciDevice devs[32];
    PciScan scan = pci_enumerate(pci.space(), devs, 32, BarSizing::Skip);
    EXPECT_EQ(scan.buses, pci::kMaxBridgeDepth + 1);
    EXPECT_EQ(scan.count, pci::kMaxBridgeDepth + 1u);
    EXPECT_EQ(scan.skipped_bridges, 1);
}

TEST(Pci, TruncatesIntoSmallArray)
{
    FakePci pci;
    qemu_pc(pci);
    PciDevice devs[3];
    PciScan scan = pci_enumerate(pci.space(), devs, 3, BarSizing::Probe);
    EXPECT_EQ(scan.count, 3u);
    EXPECT_TRUE(scan.truncated);
    EXPECT_EQ(bdfs(devs, scan.count), (Strings { "00:00.0", "00:01.0", "00:01.1" }));
    // The walk stopped at the first function that did not fit: only stored
    // functions were written (sized).
    for (const Write& w : pci.writes)
        EXPECT_TRUE(w.dev == 0 || (w.dev == 1 && w.fn <= 1)) << int(w.dev) << "." << int(w.fn);
    EXPECT_FALSE(pci.writes.empty());

    scan = pci_enumerate(pci.space(), nullptr, 0, BarSizing::Skip);
    EXPECT_EQ(scan.count, 0u);
    EXPECT_TRUE(scan.truncated);
}

// Found by tests/fuzz/pci_fuzz (corpus regress_full_bus_of_bridges): 256
// buses scanned wrapped the 8-bit bus count to 0. The list now stops at
// pci::kMaxScanDevices, where the counts still fit.
TEST(Pci, AFullBusOfBridgesKeepsTheCountsRight)
{
    FakePci pci;
    for (int dev = 0; dev < 32; ++dev) {
        for (int fn = 0; fn < 8; ++fn) {  // each to its own bus (the last one back to bus 0)
            uint8_t secondary = static_cast<uint8_t>(1 + dev * 8 + fn);
            pci.add(0, static_cast<uint8_t>(dev), static_cast<uint8_t>(fn), 0x1B36, 0x0001, 0x06040000,
                   pci::kHeaderTypeBridge | pci::kHeaderMultiFunction)
                .bus_numbers(0, secondary, secondary);
        }
    }
    std::vector<PciDevice> devs(300);
    PciScan scan = pci_enumerate(pci.space(), devs.data(), devs.size(), BarSizing::Skip);
    EXPECT_EQ(scan.count, pci::kMaxScanDevices);
    EXPECT_TRUE(scan.truncated);
    EXPECT_EQ(scan.buses, pci::kMaxScanDevices + 1);  // bus 0 and one behind each bridge listed
    EXPECT_EQ(scan.skipped_bridges, 0);
}

// The port-level accessor drives the same walk: a fake host bridge decodes
// CONFIG_ADDRESS and answers from the fake topology.
TEST(Pci, WalkThroughPortAccessor)
{
    struct HostBridge {
        FakePci* pci;
        uint32_t* address;
        uint8_t read8(uint16_t) { ADD_FAILURE(); return 0; }
        uint16_t read16(uint16_t) { ADD_FAILURE(); return 0; }
        void write8(uint16_t, uint8_t) { ADD_FAILURE(); }
        void write16(uint16_t, uint16_t) { ADD_FAILURE(); }
        uint32_t read32(uint16_t port)
        {
            if (port == pci::kConfigAddressPort)
                return *address;
            EXPECT_EQ(port, pci::kConfigDataPort);
            EXPECT_TRUE(*address & pci::kConfigEnable);
            return pci->read(decode(), static_cast<uint8_t>(*address & 0xFC));
        }
        void write32(uint16_t port, uint32_t v)
        {
            if (port == pci::kConfigAddressPort) {
                *address = v;
                return;
            }
            EXPECT_EQ(port, pci::kConfigDataPort);
            pci->write(decode(), static_cast<uint8_t>(*address & 0xFC), v);
        }
        PciAddress decode() const
        {
            return { static_cast<uint8_t>(*address >> 16), static_cast<uint8_t>((*address >> 11) & 0x1F),
                     static_cast<uint8_t>((*address >> 8) & 7) };
        }
    };
    static_assert(PortIo<HostBridge>);

    FakePci pci;
    qemu_pc(pci);
    uint32_t address = 0;
    PciConfig<HostBridge> cfg { HostBridge { &pci, &address } };
    ASSERT_TRUE(cfg.probe().ok());
    PciDevice devs[16];
    PciScan scan = pci_enumerate(cfg.space(), devs, 16, BarSizing::Probe);
    EXPECT_EQ(bdfs(devs, scan.count), (Strings { "00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:03.0" }));
    EXPECT_EQ(devs[4].bars[0].size, 16u << 20);
    EXPECT_EQ(devs[5].bars[1].size, 64u);
    EXPECT_EQ(cfg.read16({ 0, 2, 0 }, 0x02), 0x1111);
}

TEST(Pci, ClassNames)
{
    EXPECT_STREQ(pci_class_name(0x06, 0x00), "Host bridge");
    EXPECT_STREQ(pci_class_name(0x06, 0x01), "ISA bridge");
    EXPECT_STREQ(pci_class_name(0x06, 0x04), "PCI bridge");
    EXPECT_STREQ(pci_class_name(0x06, 0x80), "Bridge");
    EXPECT_STREQ(pci_class_name(0x01, 0x01), "IDE controller");
    EXPECT_STREQ(pci_class_name(0x01, 0x06), "SATA controller");
    EXPECT_STREQ(pci_class_name(0x03, 0x00), "VGA controller");
    EXPECT_STREQ(pci_class_name(0x02, 0x00), "Ethernet controller");
    EXPECT_STREQ(pci_class_name(0x0C, 0x03), "USB controller");
    EXPECT_STREQ(pci_class_name(0x0C, 0x80), "Serial bus controller");
    EXPECT_STREQ(pci_class_name(0x08, 0x80), "System peripheral");
    EXPECT_STREQ(pci_class_name(0x00, 0x00), "Unclassified device");
    EXPECT_STREQ(pci_class_name(0x0D, 0x00), "Other");
    EXPECT_STREQ(pci_class_name(0xFF, 0xFF), "Other");
    static_assert(pci_class_name(0x06, 0x00)[0] == 'H');  // usable at compile time
}
