// ACPI table parsing over a fake physical memory. The fake reader hands out a
// fresh, exactly-sized heap copy per call and frees the previous one, so ASan
// flags both reads past the requested length and pointers kept across calls.
#include "kernel/drivers/acpi/acpi_tables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace exo {
namespace {

using acpi::Fadt;
using acpi::GenericAddress;
using acpi::RsdpV1;
using acpi::RsdpV2;
using acpi::SdtHeader;

using Bytes = std::vector<uint8_t>;

class FakePhys {
public:
    void map(uint64_t base, Bytes bytes) { m_regions.push_back({ base, std::move(bytes) }); }
    void map_zeros(uint64_t base, size_t size) { map(base, Bytes(size, 0)); }

    // Copies `bytes` into an already mapped region.
    void place(uint64_t phys, const Bytes& bytes)
    {
        Region* r = find(phys, bytes.size());
        ASSERT_NE(r, nullptr) << "place outside mapped memory at " << std::hex << phys;
        std::memcpy(r->bytes.data() + (phys - r->base), bytes.data(), bytes.size());
    }
    uint8_t* at(uint64_t phys)
    {
        Region* r = find(phys, 1);
        return r == nullptr ? nullptr : r->bytes.data() + (phys - r->base);
    }

    static const uint8_t* read(void* ctx, uint64_t phys, size_t len)
    {
        auto* self = static_cast<FakePhys*>(ctx);
        self->m_reads++;
        self->m_last.reset();  // the previous pointer dies here
        Region* r = self->find(phys, len);
        if (r == nullptr)
            return nullptr;
        self->m_last = std::make_unique<uint8_t[]>(len);
        std::memcpy(self->m_last.get(), r->bytes.data() + (phys - r->base), len);
        return self->m_last.get();
    }

    size_t reads() const { return m_reads; }

private:
    struct Region {
        uint64_t base;
        Bytes bytes;
    };
    Region* find(uint64_t phys, size_t len)
    {
        for (auto& r : m_regions) {
            if (phys >= r.base && len <= r.bytes.size() && phys - r.base <= r.bytes.size() - len)
                return &r;
        }
        return nullptr;
    }

    std::vector<Region> m_regions;
    std::unique_ptr<uint8_t[]> m_last;
    size_t m_reads = 0;
};

uint8_t checksum_fix(const uint8_t* p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; ++i)
        sum = static_cast<uint8_t>(sum + p[i]);
    return static_cast<uint8_t>(-sum);
}

template<typename T>
Bytes to_bytes(const T& v, size_t len = sizeof(T))
{
    Bytes b(len, 0);
    std::memcpy(b.data(), &v, std::min(len, sizeof(T)));
    return b;
}

// Header + body with Length and Checksum filled in.
Bytes make_table(const char* sig, uint8_t revision, const Bytes& body)
{
    SdtHeader h {};
    std::memcpy(h.signature, sig, 4);
    h.length = static_cast<uint32_t>(sizeof(SdtHeader) + body.size());
    h.revision = revision;
    std::memcpy(h.oem_id, "EXOOEM", 6);
    Bytes t = to_bytes(h);
    t.insert(t.end(), body.begin(), body.end());
    t[offsetof(SdtHeader, checksum)] = checksum_fix(t.data(), t.size());
    return t;
}

Bytes make_rsdp_v1(uint32_t rsdt)
{
    RsdpV1 r {};
    std::memcpy(r.signature, "RSD PTR ", 8);
    std::memcpy(r.oem_id, "EXOOEM", 6);
    r.revision = 0;
    r.rsdt_address = rsdt;
    Bytes b = to_bytes(r);
    b[offsetof(RsdpV1, checksum)] = checksum_fix(b.data(), sizeof(RsdpV1));
    return b;
}

Bytes make_rsdp_v2(uint32_t rsdt, uint64_t xsdt)
{
    RsdpV2 r {};
    std::memcpy(r.v1.signature, "RSD PTR ", 8);
    std::memcpy(r.v1.oem_id, "EXOOEM", 6);
    r.v1.revision = 2;
    r.v1.rsdt_address = rsdt;
    r.length = sizeof(RsdpV2);
    r.xsdt_address = xsdt;
    Bytes b = to_bytes(r);
    b[offsetof(RsdpV1, checksum)] = checksum_fix(b.data(), sizeof(RsdpV1));
    b[offsetof(RsdpV2, extended_checksum)] = checksum_fix(b.data(), sizeof(RsdpV2));
    return b;
}

Bytes make_rsdt(const std::vector<uint32_t>& entries)
{
    Bytes body;
    for (uint32_t e : entries) {
        Bytes eb = to_bytes(e);
        body.insert(body.end(), eb.begin(), eb.end());
    }
    return make_table("RSDT", 1, body);
}

Bytes make_xsdt(const std::vector<uint64_t>& entries)
{
    Bytes body;
    for (uint64_t e : entries) {
        Bytes eb = to_bytes(e);
        body.insert(body.end(), eb.begin(), eb.end());
    }
    return make_table("XSDT", 1, body);
}

GenericAddress gas(acpi::AddressSpace space, uint64_t address, uint8_t width = 16, uint8_t access = 2)
{
    GenericAddress g {};
    g.address_space_id = static_cast<uint8_t>(space);
    g.register_bit_width = width;
    g.access_size = access;
    g.address = address;
    return g;
}

// Serializes the first `length` bytes of `f` as a FACP table.
Bytes make_fadt(Fadt f, uint32_t length, uint8_t revision)
{
    std::memcpy(f.header.signature, "FACP", 4);
    f.header.length = length;
    f.header.revision = revision;
    f.header.checksum = 0;
    Bytes b = to_bytes(f, length);
    b[offsetof(SdtHeader, checksum)] = checksum_fix(b.data(), b.size());
    return b;
}

// A PIIX4-like ACPI 1.0 FADT, as QEMU's `pc` machine has.
Fadt piix4_fadt(uint32_t dsdt)
{
    Fadt f {};
    f.dsdt = dsdt;
    f.sci_int = 9;
    f.smi_cmd = 0xB2;
    f.acpi_enable = 0xF1;
    f.acpi_disable = 0xF0;
    f.pm1a_evt_blk = 0x600;
    f.pm1a_cnt_blk = 0x604;
    f.pm_tmr_blk = 0x608;
    f.pm1_evt_len = 4;
    f.pm1_cnt_len = 2;
    f.pm_tmr_len = 4;
    return f;
}

// Some AML around the interesting bit, none of it mentioning _S5_.
Bytes aml_filler()
{
    return { 0x10, 0x0C, 0x5C, 0x5F, 0x53, 0x42, 0x5F, 0x08, 0x50, 0x43, 0x49, 0x30, 0x0A, 0x01,
        0x08, 0x5F, 0x53, 0x33, 0x5F, 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00 };
}

// Name (_S5_, Package (4) {0, 0, 0, 0}) exactly as QEMU's DSDT encodes it.
Bytes aml_s5_qemu() { return { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 }; }

Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Physical layout of the synthetic machine.
constexpr uint64_t kLowBase = 0;
constexpr size_t kLowSize = 0x100000;
constexpr uint64_t kHighBase = 0x1000000;
constexpr size_t kHighSize = 0x10000;
constexpr uint64_t kRsdpPhys = 0xF5A30;  // inside the BIOS area, 16-byte aligned
constexpr uint64_t kRsdtPhys = 0x1000000;
constexpr uint64_t kXsdtPhys = 0x1001000;
constexpr uint64_t kFadtPhys = 0x1002000;
constexpr uint64_t kFadt2Phys = 0x1003000;
constexpr uint64_t kDsdtPhys = 0x1004000;
constexpr uint64_t kDsdt2Phys = 0x1005000;
constexpr uint64_t kApicPhys = 0x1006000;

FakePhys make_memory()
{
    FakePhys m;
    m.map_zeros(kLowBase, kLowSize);
    m.map_zeros(kHighBase, kHighSize);
    m.place(kApicPhys, make_table("APIC", 1, Bytes(8, 0xAA)));
    return m;
}

// An ACPI 1.0 machine: RSDP v1 in the BIOS area -> RSDT -> {APIC, FACP} -> DSDT.
FakePhys make_acpi1_machine(const Bytes& aml)
{
    FakePhys m = make_memory();
    m.place(kRsdpPhys, make_rsdp_v1(kRsdtPhys));
    m.place(kRsdtPhys, make_rsdt({ static_cast<uint32_t>(kApicPhys), static_cast<uint32_t>(kFadtPhys) }));
    m.place(kFadtPhys, make_fadt(piix4_fadt(kDsdtPhys), acpi::kFadtMinLength, 1));
    m.place(kDsdtPhys, make_table("DSDT", 1, aml));
    return m;
}

Result<AcpiPowerInfo> power_info(FakePhys& m, uint64_t hint = 0)
{
    AcpiPowerInfo info;
    Result<void> r = read_acpi_power_info(&FakePhys::read, &m, hint, info);
    if (!r.ok())
        return r.error();
    return info;
}

// ---------------------------------------------------------------------------
// RSDP discovery

TEST(AcpiRsdp, FoundByScanInBiosArea)
{
    FakePhys m = make_memory();
    m.place(kRsdpPhys, make_rsdp_v1(kRsdtPhys));
    auto r = find_rsdp(&FakePhys::read, &m, 0);
    ASSERT_TRUE(r.ok()) << error_name(r.error());
    EXPECT_EQ(r.value(), kRsdpPhys);
}

TEST(AcpiRsdp, FoundAtVeryEndOfBiosArea)
{
    FakePhys m = make_memory();
    uint64_t last = acpi::kBiosAreaEnd - 32;  // last 16-byte slot with room for 20 bytes
    m.place(last, make_rsdp_v1(kRsdtPhys));
    auto r = find_rsdp(&FakePhys::read, &m, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), last);
}

TEST(AcpiRsdp, FoundViaEbdaBeforeBiosArea)
{
    FakePhys m = make_memory();
    constexpr uint16_t kEbdaSegment = 0x9FC0;
    constexpr uint64_t kEbdaRsdp = 0x9FC00 + 0x40;
    m.place(acpi::kBdaEbdaSegmentPhys, to_bytes(kEbdaSegment));
    m.place(kEbdaRsdp, make_rsdp_v1(kRsdtPhys));
    m.place(kRsdpPhys, make_rsdp_v1(kXsdtPhys));  // a second one the spec says to find later
    auto r = find_rsdp(&FakePhys::read, &m, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), kEbdaRsdp);
}

TEST(AcpiRsdp, EbdaBeyondFirstKibIsNotSearched)
{
    FakePhys m = make_memory();
    m.place(acpi::kBdaEbdaSegmentPhys, to_bytes(uint16_t { 0x9FC0 }));
    m.place(0x9FC00 + 1024, make_rsdp_v1(kRsdtPhys));
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0).error(), Error::NotFound);
}

TEST(AcpiRsdp, UnalignedSignatureIsIgnored)
{
    FakePhys m = make_memory();
    m.place(kRsdpPhys + 4, make_rsdp_v1(kRsdtPhys));
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0).error(), Error::NotFound);
}

TEST(AcpiRsdp, BadChecksumRejectedAndScanContinues)
{
    FakePhys m = make_memory();
    Bytes bad = make_rsdp_v1(kRsdtPhys);
    bad[offsetof(RsdpV1, checksum)] ^= 1;
    m.place(0xE0000, bad);
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0).error(), Error::NotFound);
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0xE0000).error(), Error::Corrupt);

    m.place(kRsdpPhys, make_rsdp_v1(kRsdtPhys));
    auto r = find_rsdp(&FakePhys::read, &m, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), kRsdpPhys);
}

TEST(AcpiRsdp, V2ExtendedChecksumIsChecked)
{
    FakePhys m = make_memory();
    Bytes r = make_rsdp_v2(kRsdtPhys, kXsdtPhys);
    r[offsetof(RsdpV2, reserved)] = 0x55;  // v1 checksum still fine, extended one not
    m.place(kRsdpPhys, r);
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, kRsdpPhys).error(), Error::Corrupt);
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0).error(), Error::NotFound);
}

TEST(AcpiRsdp, V2LengthTooSmallIsCorrupt)
{
    FakePhys m = make_memory();
    RsdpV2 v {};
    std::memcpy(v.v1.signature, "RSD PTR ", 8);
    v.v1.revision = 2;
    v.length = 20;  // must be at least 36
    Bytes b = to_bytes(v);
    b[offsetof(RsdpV1, checksum)] = checksum_fix(b.data(), sizeof(RsdpV1));
    b[offsetof(RsdpV2, extended_checksum)] = checksum_fix(b.data(), sizeof(RsdpV2));
    m.place(kRsdpPhys, b);
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, kRsdpPhys).error(), Error::Corrupt);
}

TEST(AcpiRsdp, HintIsUsedWithoutScanning)
{
    FakePhys m = make_memory();
    m.place(kHighBase + 0x8000, make_rsdp_v2(kRsdtPhys, kXsdtPhys));
    auto r = find_rsdp(&FakePhys::read, &m, kHighBase + 0x8000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), kHighBase + 0x8000);
    EXPECT_LE(m.reads(), 4u);
}

TEST(AcpiRsdp, UnreadableHintOrNothingAnywhere)
{
    FakePhys m;  // no memory at all
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0x12345670).error(), Error::NotFound);
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, 0).error(), Error::NotFound);
    EXPECT_EQ(find_rsdp(nullptr, &m, 0).error(), Error::InvalidArgument);
}

TEST(AcpiRsdp, HintNearTopOfAddressSpaceDoesNotWrap)
{
    FakePhys m = make_memory();
    EXPECT_EQ(find_rsdp(&FakePhys::read, &m, UINT64_MAX - 4).error(), Error::NotFound);
}

// ---------------------------------------------------------------------------
// RSDT / XSDT / FADT

TEST(AcpiTables, RsdtPathWithAcpi1Fadt)
{
    FakePhys m = make_acpi1_machine(concat({ aml_filler(), aml_s5_qemu() }));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok()) << error_name(r.error());
    const AcpiPowerInfo& i = r.value();
    EXPECT_EQ(i.rsdp_phys, kRsdpPhys);
    EXPECT_EQ(i.rsdp_revision, 0);
    EXPECT_EQ(i.fadt_phys, kFadtPhys);
    EXPECT_EQ(i.fadt_revision, 1);
    EXPECT_EQ(i.dsdt_phys, kDsdtPhys);
    EXPECT_EQ(i.pm1a_cnt, 0x604);
    EXPECT_EQ(i.pm1b_cnt, 0);
    EXPECT_EQ(i.pm1_cnt_len, 2);
    EXPECT_EQ(i.smi_cmd, 0xB2u);
    EXPECT_EQ(i.acpi_enable, 0xF1);
    EXPECT_TRUE(i.has_s5);
    EXPECT_EQ(i.slp_typ_a, 0);
    EXPECT_EQ(i.slp_typ_b, 0);
    EXPECT_FALSE(i.reset.supported);  // ACPI 1.0 FADT has no RESET_REG
}

TEST(AcpiTables, FindTableBySignature)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    auto apic = find_table(&FakePhys::read, &m, kRsdpPhys, "APIC");
    ASSERT_TRUE(apic.ok());
    EXPECT_EQ(apic.value(), kApicPhys);
    EXPECT_EQ(find_table(&FakePhys::read, &m, kRsdpPhys, "HPET").error(), Error::NotFound);
    EXPECT_EQ(find_table(&FakePhys::read, &m, kRsdpPhys, nullptr).error(), Error::InvalidArgument);
}

// ACPI 2.0+ machine: RSDT and XSDT point to different FADTs/DSDTs so the test
// can tell which one was walked.
FakePhys make_acpi2_machine(uint32_t fadt_length = sizeof(Fadt))
{
    FakePhys m = make_memory();
    m.place(kRsdpPhys, make_rsdp_v2(kRsdtPhys, kXsdtPhys));
    m.place(kRsdtPhys, make_rsdt({ static_cast<uint32_t>(kFadtPhys) }));
    m.place(kXsdtPhys, make_xsdt({ kApicPhys, kFadt2Phys }));
    m.place(kFadtPhys, make_fadt(piix4_fadt(kDsdtPhys), acpi::kFadtMinLength, 1));

    Fadt f = piix4_fadt(0);  // X_DSDT only
    f.x_dsdt = kDsdt2Phys;
    f.pm1a_cnt_blk = 0x404;  // the 32-bit field disagrees with X_PM1a_CNT_BLK
    f.pm1b_cnt_blk = 0x408;
    f.x_pm1a_cnt_blk = gas(acpi::AddressSpace::SystemIo, 0x1804);
    f.x_pm1b_cnt_blk = gas(acpi::AddressSpace::SystemIo, 0x1808);
    f.flags = acpi::kFadtFlagResetRegSup;
    f.reset_reg = gas(acpi::AddressSpace::SystemIo, 0xCF9, 8, 1);
    f.reset_value = 0x06;
    m.place(kFadt2Phys, make_fadt(f, fadt_length, 6));

    m.place(kDsdtPhys, make_table("DSDT", 1, aml_s5_qemu()));
    Bytes s5_byteprefix = { 0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x08, 0x02, 0x0A, 0x07, 0x0A, 0x05 };
    m.place(kDsdt2Phys, make_table("DSDT", 2, concat({ aml_filler(), s5_byteprefix, aml_filler() })));
    return m;
}

TEST(AcpiTables, XsdtPathWithLongFadt)
{
    FakePhys m = make_acpi2_machine();
    auto r = power_info(m);
    ASSERT_TRUE(r.ok()) << error_name(r.error());
    const AcpiPowerInfo& i = r.value();
    EXPECT_EQ(i.rsdp_revision, 2);
    EXPECT_EQ(i.fadt_phys, kFadt2Phys);
    EXPECT_EQ(i.fadt_revision, 6);
    EXPECT_EQ(i.dsdt_phys, kDsdt2Phys);
    EXPECT_EQ(i.pm1a_cnt, 0x1804);
    EXPECT_EQ(i.pm1b_cnt, 0x1808);
    ASSERT_TRUE(i.has_s5);
    EXPECT_EQ(i.slp_typ_a, 7);
    EXPECT_EQ(i.slp_typ_b, 5);
    EXPECT_TRUE(i.reset.supported);
    EXPECT_EQ(i.reset.space, acpi::AddressSpace::SystemIo);
    EXPECT_EQ(i.reset.address, 0xCF9u);
    EXPECT_EQ(i.reset.bit_width, 8);
    EXPECT_EQ(i.reset.access_size, 1);
    EXPECT_EQ(i.reset.value, 0x06);
}

TEST(AcpiTables, FadtTooShortForXFieldsUsesLegacyOnes)
{
    // ACPI 2.0-era length: has RESET_REG and X_DSDT but not X_PM1a_CNT_BLK.
    constexpr uint32_t kLength = offsetof(Fadt, x_pm1a_cnt_blk);
    FakePhys m = make_acpi2_machine(kLength);
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().pm1a_cnt, 0x404);
    EXPECT_EQ(r.value().pm1b_cnt, 0x408);
    EXPECT_EQ(r.value().dsdt_phys, kDsdt2Phys);
    EXPECT_TRUE(r.value().reset.supported);
}

TEST(AcpiTables, FadtEndingInsideResetRegHasNoReset)
{
    FakePhys m = make_acpi2_machine(offsetof(Fadt, reset_value));  // RESET_VALUE cut off
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value().reset.supported);
    EXPECT_EQ(r.value().dsdt_phys, 0u);  // neither X_DSDT (cut off) nor DSDT (0)
    EXPECT_FALSE(r.value().has_s5);
    EXPECT_EQ(r.value().s5_error, Error::NotFound);
}

TEST(AcpiTables, XPm1InMemorySpaceFallsBackToLegacyPort)
{
    FakePhys m = make_acpi2_machine();
    Fadt f = piix4_fadt(static_cast<uint32_t>(kDsdtPhys));
    f.x_pm1a_cnt_blk = gas(acpi::AddressSpace::SystemMemory, 0xFED00004);
    f.x_pm1b_cnt_blk = gas(acpi::AddressSpace::SystemIo, 0x12345);  // not a port
    f.pm1b_cnt_blk = 0x70000;                                        // nor this
    m.place(kFadt2Phys, make_fadt(f, sizeof(Fadt), 5));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().pm1a_cnt, 0x604);
    EXPECT_EQ(r.value().pm1b_cnt, 0);
    EXPECT_EQ(r.value().dsdt_phys, kDsdtPhys);  // X_DSDT is 0: the 32-bit one counts
}

TEST(AcpiTables, ResetRegWithoutFlagIsUnsupported)
{
    FakePhys m = make_acpi2_machine();
    Fadt f = piix4_fadt(static_cast<uint32_t>(kDsdtPhys));
    f.reset_reg = gas(acpi::AddressSpace::SystemIo, 0xCF9, 8, 1);
    f.reset_value = 0x06;
    f.flags = 0;
    m.place(kFadt2Phys, make_fadt(f, sizeof(Fadt), 5));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value().reset.supported);
    EXPECT_EQ(r.value().reset.address, 0xCF9u);  // still reported, for logs
}

// Hardware-reduced ACPI (QEMU's microvm): no PM1 blocks, S5 through the
// FADT's SLEEP_CONTROL_REG; a FADT too short for it reports none.
TEST(AcpiTables, HardwareReducedSleepControlRegister)
{
    FakePhys m = make_acpi2_machine();
    Fadt f = piix4_fadt(static_cast<uint32_t>(kDsdtPhys));
    f.pm1a_cnt_blk = 0;
    f.sleep_control_reg = gas(acpi::AddressSpace::SystemMemory, 0xFEA00000);
    m.place(kFadt2Phys, make_fadt(f, sizeof(Fadt), 6));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().pm1a_cnt, 0);
    EXPECT_EQ(r.value().sleep_control_space, acpi::AddressSpace::SystemMemory);
    EXPECT_EQ(r.value().sleep_control, 0xFEA00000u);

    FakePhys old = make_acpi2_machine();
    old.place(kFadt2Phys, make_fadt(f, offsetof(Fadt, sleep_control_reg), 5));
    auto o = power_info(old);
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o.value().sleep_control, 0u);
}

TEST(AcpiTables, CorruptXsdtFallsBackToRsdt)
{
    FakePhys m = make_acpi2_machine();
    m.at(kXsdtPhys + sizeof(SdtHeader))[0] ^= 0xFF;  // breaks the checksum
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().fadt_phys, kFadtPhys);
    EXPECT_EQ(r.value().pm1a_cnt, 0x604);
}

TEST(AcpiTables, ZeroXsdtAddressUsesRsdt)
{
    FakePhys m = make_acpi2_machine();
    m.place(kRsdpPhys, make_rsdp_v2(kRsdtPhys, 0));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().fadt_phys, kFadtPhys);
}

TEST(AcpiTables, CorruptXsdtAndNoRsdtFails)
{
    FakePhys m = make_acpi2_machine();
    m.place(kRsdpPhys, make_rsdp_v2(0, kXsdtPhys));
    m.at(kXsdtPhys + sizeof(SdtHeader))[0] ^= 0xFF;
    EXPECT_EQ(power_info(m).error(), Error::Corrupt);
}

TEST(AcpiTables, RootWithWrongSignatureIsCorrupt)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.place(kRsdtPhys, make_table("XSDT", 1, to_bytes(static_cast<uint32_t>(kFadtPhys))));
    EXPECT_EQ(power_info(m).error(), Error::Corrupt);
}

TEST(AcpiTables, FadtBadChecksumIsCorrupt)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.at(kFadtPhys + offsetof(Fadt, smi_cmd))[0] ^= 0x01;
    EXPECT_EQ(power_info(m).error(), Error::Corrupt);
}

TEST(AcpiTables, LaterValidFadtWinsOverCorruptOne)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.place(kFadt2Phys, make_fadt(piix4_fadt(kDsdtPhys), acpi::kFadtMinLength, 1));
    m.place(kRsdtPhys, make_rsdt({ static_cast<uint32_t>(kFadtPhys), static_cast<uint32_t>(kFadt2Phys) }));
    m.at(kFadtPhys + offsetof(Fadt, smi_cmd))[0] ^= 0x01;
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().fadt_phys, kFadt2Phys);
}

TEST(AcpiTables, FadtShorterThanAcpi1IsCorrupt)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.place(kFadtPhys, make_fadt(piix4_fadt(kDsdtPhys), 100, 1));
    EXPECT_EQ(power_info(m).error(), Error::Corrupt);
}

TEST(AcpiTables, MissingFadtIsNotFound)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.place(kRsdtPhys, make_rsdt({ static_cast<uint32_t>(kApicPhys), 0, 0x7FFFFFF0 }));
    EXPECT_EQ(power_info(m).error(), Error::NotFound);
}

TEST(AcpiTables, RsdtEntriesBeyondMemoryAreSkipped)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.place(kRsdtPhys, make_rsdt({ 0xFFFFFFF0, static_cast<uint32_t>(kFadtPhys) }));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().pm1a_cnt, 0x604);
}

TEST(AcpiTables, TableLengthSmallerThanHeaderIsCorrupt)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    Bytes rsdt = make_rsdt({ static_cast<uint32_t>(kFadtPhys) });
    rsdt[offsetof(SdtHeader, length)] = 20;
    rsdt[offsetof(SdtHeader, checksum)] = 0;
    rsdt[offsetof(SdtHeader, checksum)] = checksum_fix(rsdt.data(), 20);
    m.place(kRsdtPhys, rsdt);
    EXPECT_EQ(power_info(m).error(), Error::Corrupt);
}

TEST(AcpiTables, HugeTableLengthIsRejected)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    uint32_t huge = 0xF0000000;
    std::memcpy(m.at(kRsdtPhys + offsetof(SdtHeader, length)), &huge, 4);
    EXPECT_EQ(power_info(m).error(), Error::TooLong);
}

TEST(AcpiTables, TableRunningOffMappedMemoryIsCorrupt)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    // An RSDT whose Length reaches past the end of the high region.
    uint64_t near_end = kHighBase + kHighSize - 40;
    Bytes rsdt = make_rsdt({ static_cast<uint32_t>(kFadtPhys) });
    m.place(near_end, rsdt);
    uint32_t len = 64;
    std::memcpy(m.at(near_end + offsetof(SdtHeader, length)), &len, 4);
    m.place(kRsdpPhys, make_rsdp_v1(static_cast<uint32_t>(near_end)));
    EXPECT_EQ(power_info(m).error(), Error::Corrupt);
}

// ---------------------------------------------------------------------------
// DSDT and \_S5_

TEST(AcpiS5, MissingS5GivesHasS5False)
{
    FakePhys m = make_acpi1_machine(aml_filler());
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value().has_s5);
    EXPECT_EQ(r.value().s5_error, Error::NotFound);
    EXPECT_EQ(r.value().pm1a_cnt, 0x604);
}

TEST(AcpiS5, CorruptDsdtGivesHasS5False)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.at(kDsdtPhys + sizeof(SdtHeader))[0] ^= 0x10;
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value().has_s5);
    EXPECT_EQ(r.value().s5_error, Error::Corrupt);
}

TEST(AcpiS5, DsdtWithWrongSignatureGivesHasS5False)
{
    FakePhys m = make_acpi1_machine(aml_s5_qemu());
    m.place(kDsdtPhys, make_table("SSDT", 1, aml_s5_qemu()));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.value().has_s5);
    EXPECT_EQ(r.value().s5_error, Error::Corrupt);
}

Result<SleepType> s5(const Bytes& aml)
{
    // Exactly-sized heap copy so ASan sees any over-read.
    auto buf = std::make_unique<uint8_t[]>(aml.size() + (aml.empty() ? 1 : 0));
    if (!aml.empty())
        std::memcpy(buf.get(), aml.data(), aml.size());
    return find_s5_sleep_type(buf.get(), aml.size());
}

TEST(AcpiS5, ZeroOpElements)
{
    auto r = s5(aml_s5_qemu());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().slp_typ_a, 0);
    EXPECT_EQ(r.value().slp_typ_b, 0);
}

TEST(AcpiS5, OneOpAndBytePrefixElementsWithRootChar)
{
    auto r = s5({ 0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x01, 0x0A, 0x05 });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().slp_typ_a, 1);
    EXPECT_EQ(r.value().slp_typ_b, 5);
}

TEST(AcpiS5, WordDWordQWordPrefixesMaskedToThreeBits)
{
    Bytes aml = { 0x08, '_', 'S', '5', '_', 0x12, 0x0C, 0x03, 0x0B, 0x06, 0x01, 0x0C, 0x0F, 0, 0, 0, 0x0A, 0x00 };
    auto r = s5(aml);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().slp_typ_a, 0x106 & 7);
    EXPECT_EQ(r.value().slp_typ_b, 7);

    auto q = s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x0C, 0x02, 0x0E, 3, 0, 0, 0, 0, 0, 0, 0x80, 0xFF });
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q.value().slp_typ_a, 3);
    EXPECT_EQ(q.value().slp_typ_b, 7);  // OnesOp
}

TEST(AcpiS5, SingleIntegerLegacyForm)
{
    auto r = s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0B, 0x05, 0x06 });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().slp_typ_a, 5);
    EXPECT_EQ(r.value().slp_typ_b, 6);
}

// Name (_S5_, Package) whose PkgLength uses `nbytes` bytes, with `padding`
// extra ZeroOp elements after SLP_TYPa = 2, SLP_TYPb = 3.
Bytes s5_with_pkg_length(uint32_t nbytes, size_t padding)
{
    Bytes body = { static_cast<uint8_t>(2 + padding), 0x0A, 0x02, 0x0A, 0x03 };
    body.insert(body.end(), padding, 0x00);
    uint32_t total = static_cast<uint32_t>(body.size()) + nbytes;
    Bytes pkg;
    if (nbytes == 1) {
        pkg.push_back(static_cast<uint8_t>(total));
    } else {
        pkg.push_back(static_cast<uint8_t>(((nbytes - 1) << 6) | (total & 0x0F)));
        for (uint32_t i = 1; i < nbytes; ++i)
            pkg.push_back(static_cast<uint8_t>(total >> (4 + 8 * (i - 1))));
    }
    return concat({ { 0x08, '_', 'S', '5', '_', 0x12 }, pkg, body });
}

TEST(AcpiS5, MultiBytePkgLength)
{
    for (uint32_t nbytes = 1; nbytes <= 4; ++nbytes) {
        SCOPED_TRACE(nbytes);
        size_t padding = nbytes == 1 ? 10 : 100;  // one-byte form holds at most 63
        auto r = s5(concat({ aml_filler(), s5_with_pkg_length(nbytes, padding), aml_filler() }));
        ASSERT_TRUE(r.ok()) << error_name(r.error());
        EXPECT_EQ(r.value().slp_typ_a, 2);
        EXPECT_EQ(r.value().slp_typ_b, 3);
    }
}

TEST(AcpiS5, MultiBytePkgLengthThroughWholeParser)
{
    FakePhys m = make_acpi1_machine(concat({ aml_filler(), s5_with_pkg_length(2, 200) }));
    auto r = power_info(m);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r.value().has_s5);
    EXPECT_EQ(r.value().slp_typ_a, 2);
    EXPECT_EQ(r.value().slp_typ_b, 3);
}

TEST(AcpiS5, DecodePkgLength)
{
    uint8_t one[] = { 0x3F };
    auto a = decode_pkg_length(one, 1);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a.value().length, 0x3Fu);
    EXPECT_EQ(a.value().encoded_size, 1u);

    uint8_t four[] = { 0xC5, 0x34, 0x12, 0x01 };  // 0x01_12_34 << 4 | 5
    auto b = decode_pkg_length(four, 4);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.value().length, 0x0112345u);
    EXPECT_EQ(b.value().encoded_size, 4u);

    EXPECT_EQ(decode_pkg_length(four, 3).error(), Error::Corrupt);  // follow bytes cut off
    EXPECT_EQ(decode_pkg_length(four, 0).error(), Error::Corrupt);
    uint8_t self_short[] = { 0x41, 0x00 };  // length 1 < its own 2 bytes
    EXPECT_EQ(decode_pkg_length(self_short, 2).error(), Error::Corrupt);
    uint8_t zero[] = { 0x00 };
    EXPECT_EQ(decode_pkg_length(zero, 1).error(), Error::Corrupt);
}

TEST(AcpiS5, ReferencesThatAreNotDefinitionsAreSkipped)
{
    // Store (\_S5_, Local0) style reference, then _S5_ as a method name, then the real one.
    Bytes aml = concat({ { 0x70, 0x5C, '_', 'S', '5', '_', 0x60 }, { 0x14, 0x06, '_', 'S', '5', '_', 0x00, 0xA4 },
        { 0x08, '_', 'S', '5', '_', 0x0A, 0x05 },  // Name(_S5_, 5): not a package
        { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0A, 0x04, 0x0A, 0x04 } });
    auto r = s5(aml);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().slp_typ_a, 4);
}

TEST(AcpiS5, NameAtVeryStartOrEndIsHandled)
{
    EXPECT_EQ(s5({ '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x00 }).error(), Error::NotFound);  // no NameOp
    EXPECT_EQ(s5({ 0x00, 0x08, '_', 'S', '5', '_' }).error(), Error::NotFound);
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12 }).error(), Error::Corrupt);  // PkgLength missing
    EXPECT_EQ(s5({}).error(), Error::NotFound);
    EXPECT_EQ(find_s5_sleep_type(nullptr, 10).error(), Error::InvalidArgument);
}

TEST(AcpiS5, MalformedPackagesAreCorrupt)
{
    // PkgLength claims more than the table holds.
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x20, 0x02, 0x00, 0x00 }).error(), Error::Corrupt);
    // Zero elements.
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00 }).error(), Error::Corrupt);
    // Second element missing inside the package bounds (bytes follow, but outside it).
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x00, 0x00, 0x00 }).error(), Error::Corrupt);
    // BytePrefix whose byte lies past the package end.
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x0A, 0x05 }).error(), Error::Corrupt);
    // An element that needs evaluation (a name reference).
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 'S', 'L', 'P', 'A', 0x00 }).error(), Error::Corrupt);
    // PkgLength with no room for NumElements.
    EXPECT_EQ(s5({ 0x08, '_', 'S', '5', '_', 0x12, 0x01, 0x02 }).error(), Error::Corrupt);
}

TEST(AcpiS5, EveryTruncationIsSafe)
{
    Bytes full = concat({ aml_filler(), s5_with_pkg_length(2, 70) });
    for (size_t n = 0; n <= full.size(); ++n) {
        Bytes cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
        auto r = s5(cut);
        if (n == full.size()) {
            ASSERT_TRUE(r.ok());
        } else {
            EXPECT_FALSE(r.ok()) << n;  // the package is the tail: any cut breaks it
        }
    }
}

// Random byte flips across all the tables must never read out of bounds; when
// the parse still succeeds the results must be internally consistent.
TEST(AcpiFuzz, RandomCorruptionNeverOverreads)
{
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 1500; ++iter) {
        FakePhys m = make_acpi2_machine(iter % 2 == 0 ? sizeof(Fadt) : acpi::kFadtMinLength);
        std::uniform_int_distribution<uint64_t> where(kRsdtPhys, kDsdt2Phys + 0x60);
        std::uniform_int_distribution<int> byte(0, 255);
        int flips = 1 + iter % 4;
        for (int f = 0; f < flips; ++f) {
            uint8_t* p = m.at(where(rng));
            *p = static_cast<uint8_t>(byte(rng));
        }
        auto r = power_info(m, kRsdpPhys);
        if (r.ok() && r.value().has_s5) {
            EXPECT_LE(r.value().slp_typ_a, 7);
            EXPECT_LE(r.value().slp_typ_b, 7);
        }
        auto dsdt = m.at(kDsdt2Phys);
        (void)s5(Bytes(dsdt, dsdt + 0x60));
    }
}

// Same, but the DSDT checksum is fixed after each mutation so the AML decoder
// itself sees the damage instead of the checksum catching it.
TEST(AcpiFuzz, MutatedS5PackageWithValidChecksum)
{
    std::mt19937 rng(777);
    const Bytes base = concat({ aml_filler(), s5_with_pkg_length(2, 20), aml_filler() });
    const size_t s5_at = aml_filler().size();
    std::uniform_int_distribution<size_t> where(s5_at, s5_at + 12);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> cut(s5_at, base.size());
    FakePhys m = make_acpi1_machine(base);
    int decoded = 0;
    for (int iter = 0; iter < 1500; ++iter) {
        Bytes aml = base;
        aml[where(rng)] = static_cast<uint8_t>(byte(rng));
        if (iter % 3 == 0)
            aml.resize(cut(rng));
        m.place(kDsdtPhys, make_table("DSDT", 1, aml));
        auto r = power_info(m, kRsdpPhys);
        ASSERT_TRUE(r.ok());  // FADT and friends are intact
        if (r.value().has_s5) {
            ++decoded;
            EXPECT_LE(r.value().slp_typ_a, 7);
            EXPECT_LE(r.value().slp_typ_b, 7);
        } else {
            EXPECT_TRUE(r.value().s5_error == Error::Corrupt || r.value().s5_error == Error::NotFound);
        }
    }
    EXPECT_GT(decoded, 0);
}

// ---------------------------------------------------------------------------
// PM1 control value

TEST(AcpiPm1, SleepValue)
{
    EXPECT_EQ(pm1_control_sleep_value(0), 0x2000);
    EXPECT_EQ(pm1_control_sleep_value(5), 0x3400);
    EXPECT_EQ(pm1_control_sleep_value(7), 0x3C00);
    EXPECT_EQ(pm1_control_sleep_value(0xFF), 0x3C00);  // only 3 bits count
    // Read-modify-write keeps SCI_EN and other bits, replaces the old SLP_TYP.
    EXPECT_EQ(pm1_control_sleep_value(1, 0x1C01), 0x2401);
    EXPECT_EQ(pm1_control_sleep_value(0, 0xFFFF), 0xE3FF);
}

// ---------------------------------------------------------------------------
// Real tables dumped from QEMU `-M pc -m 32` (tests/fixtures/capture_acpi.sh).

#ifdef EXO_FIXTURE_DIR
Bytes load_fixture(const std::string& name)
{
    std::ifstream in(std::string(EXO_FIXTURE_DIR) + "/" + name, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(AcpiQemuFixture, PcMachineTables)
{
    Bytes low = load_fixture("qemu_pc_acpi_low.bin");
    Bytes high = load_fixture("qemu_pc_acpi_high.bin");
    ASSERT_EQ(low.size(), 0x20000u) << "missing fixture; run tests/fixtures/capture_acpi.sh";
    ASSERT_EQ(high.size(), 0x20000u);
    FakePhys m;
    m.map(0xE0000, low);      // no BDA mapped: the EBDA probe must cope
    m.map(0x1FE0000, high);

    auto r = power_info(m);
    ASSERT_TRUE(r.ok()) << error_name(r.error());
    const AcpiPowerInfo& i = r.value();
    EXPECT_GE(i.rsdp_phys, 0xE0000u);
    EXPECT_LT(i.rsdp_phys, 0x100000u);
    EXPECT_EQ(i.pm1a_cnt, 0x604);  // PIIX4 PM I/O base 0x600 + PM1 control at +4
    EXPECT_EQ(i.pm_timer, 0x608);  // ... and the PM timer at +8
    EXPECT_EQ(i.pm1b_cnt, 0);
    EXPECT_EQ(i.pm1_cnt_len, 2);
    EXPECT_EQ(i.smi_cmd, 0xB2u);
    EXPECT_NE(i.acpi_enable, 0);
    ASSERT_TRUE(i.has_s5);
    EXPECT_EQ(i.slp_typ_a, 0);  // QEMU's PIIX4 powers off on SLP_TYP 0
    EXPECT_EQ(pm1_control_sleep_value(i.slp_typ_a), 0x2000);
    EXPECT_GE(i.dsdt_phys, 0x1FE0000u);

    // Scanning without the hint and validating with it agree.
    auto again = power_info(m, i.rsdp_phys);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.value().fadt_phys, i.fadt_phys);
}
#else
TEST(AcpiQemuFixture, PcMachineTables)
{
    GTEST_SKIP() << "EXO_FIXTURE_DIR not defined";
}
#endif

}  // namespace
}  // namespace exo
