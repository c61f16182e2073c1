// ACPI table parsing over a fake physical memory (phys_memory.h: each read
// an exact-size copy, freed at the next read, as the PhysReader contract
// allows). Half the inputs get their checksums fixed up first (RSDP, and
// any table header whose length fits), so the fuzzer reaches the FADT and
// the DSDT's AML instead of stopping at a checksum.
// Checked: read_acpi_power_info finds a valid RSDP (the hint itself, or one
// on a 16-byte boundary of the EBDA or BIOS area), a FADT with a valid
// checksum, long enough, listed in the root table; S5 values from a valid
// DSDT holding _S5_, each 3 bits; a reset register only with an address.
// find_table returns a valid table of the signature asked for.
// decode_pkg_length and find_s5_sleep_type, on the raw input, stay inside
// it and decode what the AML encoding (ACPI 6.5 §20.2.4) says.
// Input: flags (bit 0: fix checksums), hint (u32, 0: scan), then regions:
// base (u32), length (u16), bytes.
#include <stdint.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "kernel/drivers/acpi/acpi_tables.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/phys_memory.h"

using namespace exo;
using exo::fuzz::FakePhysMemory;

namespace {

uint8_t sum(const uint8_t* p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i)
        s = static_cast<uint8_t>(s + p[i]);
    return s;
}

uint32_t u32(const uint8_t* p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

bool is_signature(const uint8_t* p)
{
    for (int i = 0; i < 4; ++i) {
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
            return false;
    }
    return true;
}

// Makes every RSDP and table header in the region sum to zero.
void fix_checksums(std::vector<uint8_t>& r)
{
    for (size_t at = 0; at + 36 <= r.size(); ++at) {
        uint8_t* p = r.data() + at;
        if (memcmp(p, "RSD PTR ", 8) == 0) {
            p[8] = static_cast<uint8_t>(p[8] - sum(p, 20));
            uint32_t length = u32(p + 20);
            if (p[15] >= 2 && length >= 36 && length <= r.size() - at)
                p[32] = static_cast<uint8_t>(p[32] - sum(p, length));
        } else if (is_signature(p)) {
            uint32_t length = u32(p + 4);
            if (length >= 36 && length <= r.size() - at)
                p[9] = static_cast<uint8_t>(p[9] - sum(p, length));
        }
    }
}

// A whole table with a good checksum at `phys`.
bool valid_table(FakePhysMemory& mem, uint64_t phys, const char* signature)
{
    const uint8_t* h = mem.find(phys, sizeof(acpi::SdtHeader));
    if (h == nullptr || memcmp(h, signature, 4) != 0)
        return false;
    uint32_t length = u32(h + 4);
    const uint8_t* t = mem.find(phys, length);
    return length >= sizeof(acpi::SdtHeader) && length <= acpi::kMaxTableLength && t != nullptr && sum(t, length) == 0;
}

// Whether a valid RSDT or XSDT lists `phys`.
bool listed(FakePhysMemory& mem, uint64_t rsdp, uint64_t phys)
{
    const uint8_t* p = mem.find(rsdp, 20);
    uint64_t roots[2] = { u32(p + 16), 0 };
    if (p[15] >= 2 && (p = mem.find(rsdp, 36)) != nullptr)
        memcpy(&roots[1], p + 24, 8);
    for (int x = 0; x < 2; ++x) {
        if (!valid_table(mem, roots[x], x == 0 ? "RSDT" : "XSDT"))
            continue;
        const uint8_t* t = mem.find(roots[x], u32(mem.find(roots[x], 36) + 4));
        size_t entry = x == 0 ? 4 : 8;
        for (size_t at = 36; at + entry <= u32(t + 4); at += entry) {
            uint64_t e = 0;
            memcpy(&e, t + at, entry);
            if (e == phys)
                return true;
        }
    }
    return false;
}

void check_power_info(FakePhysMemory& mem, uint64_t hint)
{
    AcpiPowerInfo info;
    Result<void> got = read_acpi_power_info(&FakePhysMemory::reader, &mem, hint, info);
    if (!got.ok())
        return;
    const uint8_t* rsdp = mem.find(info.rsdp_phys, 20);
    FUZZ_CHECK(rsdp != nullptr && memcmp(rsdp, "RSD PTR ", 8) == 0 && sum(rsdp, 20) == 0);
    FUZZ_CHECK(info.rsdp_revision == rsdp[15]);
    if (hint != 0) {
        FUZZ_CHECK(info.rsdp_phys == hint);
    } else {
        FUZZ_CHECK(info.rsdp_phys % 16 == 0);
        bool bios = info.rsdp_phys >= acpi::kBiosAreaStart && info.rsdp_phys < acpi::kBiosAreaEnd;
        FUZZ_CHECK(bios || info.rsdp_phys < 0x10000 * 16 + acpi::kEbdaSearchLength);  // an EBDA's first KiB
    }
    FUZZ_CHECK(valid_table(mem, info.fadt_phys, "FACP") && listed(mem, info.rsdp_phys, info.fadt_phys));
    FUZZ_CHECK(u32(mem.find(info.fadt_phys, 8) + 4) >= acpi::kFadtMinLength);
    if (info.has_s5) {
        FUZZ_CHECK(valid_table(mem, info.dsdt_phys, "DSDT"));
        uint32_t length = u32(mem.find(info.dsdt_phys, 8) + 4);
        const uint8_t* dsdt = mem.find(info.dsdt_phys, length);
        FUZZ_CHECK(memmem(dsdt, length, "_S5_", 4) != nullptr);
        FUZZ_CHECK(info.slp_typ_a <= acpi::kSlpTypMask && info.slp_typ_b <= acpi::kSlpTypMask);
    } else {
        FUZZ_CHECK(info.s5_error != Error::InvalidArgument);
    }
    if (info.reset.supported)
        FUZZ_CHECK(info.reset.address != 0);
    uint16_t value = pm1_control_sleep_value(info.slp_typ_a, 0xFFFF);
    FUZZ_CHECK((value >> acpi::kPm1CntSlpTypShift & acpi::kSlpTypMask) == info.slp_typ_a);
    FUZZ_CHECK((value & acpi::kPm1CntSlpEn) != 0);
}

void check_aml(const std::vector<uint8_t>& bytes)
{
    std::unique_ptr<uint8_t[]> aml(new uint8_t[bytes.size() + 1]);  // never 0-sized
    if (!bytes.empty())
        memcpy(aml.get(), bytes.data(), bytes.size());
    size_t size = bytes.size();
    Result<PkgLength> pkg = decode_pkg_length(aml.get(), size);
    if (pkg.ok()) {
        uint32_t follow = aml[0] >> 6;
        uint32_t want = follow == 0 ? aml[0] & 0x3F : aml[0] & 0x0F;
        for (uint32_t i = 0; i < follow; ++i)
            want |= static_cast<uint32_t>(aml[1 + i]) << (4 + 8 * i);
        FUZZ_CHECK(pkg.value().encoded_size == 1 + follow && pkg.value().encoded_size <= size);
        FUZZ_CHECK(pkg.value().length == want && want >= pkg.value().encoded_size);
    } else {
        FUZZ_CHECK(pkg.error() == Error::Corrupt);
    }
    Result<SleepType> s5 = find_s5_sleep_type(aml.get(), size);
    if (s5.ok()) {
        FUZZ_CHECK(memmem(bytes.data(), size, "_S5_", 4) != nullptr);
        FUZZ_CHECK(s5.value().slp_typ_a <= acpi::kSlpTypMask && s5.value().slp_typ_b <= acpi::kSlpTypMask);
    } else {
        FUZZ_CHECK(s5.error() == Error::NotFound || s5.error() == Error::Corrupt);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::FuzzInput in(data, size);
    uint8_t flags = in.byte();
    uint64_t hint = in.take<uint32_t>();
    FakePhysMemory mem;
    std::vector<uint8_t> all;
    while (!in.empty()) {
        uint64_t base = in.take<uint32_t>();
        std::vector<uint8_t> bytes = in.bytes(in.take<uint16_t>());
        if (flags & 1)
            fix_checksums(bytes);
        all.insert(all.end(), bytes.begin(), bytes.end());
        mem.add(base, std::move(bytes));
    }
    check_power_info(mem, hint);

    static const char* const kSignatures[] = { "FACP", "DSDT", "APIC", "HPET", "XSDT" };
    const char* signature = kSignatures[flags / 2 % 5];
    uint64_t rsdp = hint;
    Result<uint64_t> found = find_rsdp(&FakePhysMemory::reader, &mem, hint);
    if (found.ok()) {
        rsdp = found.value();
        const uint8_t* p = mem.find(rsdp, 20);
        FUZZ_CHECK(p != nullptr && memcmp(p, "RSD PTR ", 8) == 0 && sum(p, 20) == 0);
    }
    Result<uint64_t> table = find_table(&FakePhysMemory::reader, &mem, rsdp, signature);
    if (table.ok())
        FUZZ_CHECK(valid_table(mem, table.value(), signature) && listed(mem, rsdp, table.value()));
    check_aml(all);
    return 0;
}
