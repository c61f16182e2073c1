// ACPI RSDP/RSDT/XSDT/FADT walk and \_S5_ decoding. See acpi_tables.h.
#include "kernel/drivers/acpi/acpi_tables.h"

namespace exo {

namespace {

using acpi::Fadt;
using acpi::GenericAddress;
using acpi::RsdpV1;
using acpi::RsdpV2;
using acpi::SdtHeader;

constexpr uint64_t kMaxIoPort = 0xFFFF;
constexpr uint32_t kBitsPerByte = 8;

// Reads [phys, phys + len) through the seam, refusing ranges that wrap.
const uint8_t* read_phys(PhysReader read, void* ctx, uint64_t phys, size_t len)
{
    if (read == nullptr || len == 0 || phys + len < phys)
        return nullptr;
    return read(ctx, phys, len);
}

// Copies a little-endian value of type T out of a possibly unaligned buffer.
template<typename T>
T load(const uint8_t* p)
{
    T v;
    __builtin_memcpy(&v, p, sizeof(T));
    return v;
}

// §5.2.5.3 / §5.2.6: a structure is valid when all its bytes sum to zero.
bool checksum_ok(const uint8_t* p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; ++i)
        sum = static_cast<uint8_t>(sum + p[i]);
    return sum == 0;
}

bool signature_is(const char* field, const char* signature, size_t len)
{
    return __builtin_memcmp(field, signature, len) == 0;
}

// The fields of a validated RSDP that the table walk needs.
struct RsdpInfo {
    uint8_t revision;
    uint32_t rsdt_address;
    uint64_t xsdt_address;  // 0 for ACPI 1.0
};

Result<void> parse_rsdp(PhysReader read, void* ctx, uint64_t phys, RsdpInfo& info)
{
    const uint8_t* p = read_phys(read, ctx, phys, sizeof(RsdpV1));
    if (p == nullptr)
        return Error::NotFound;
    if (!signature_is(reinterpret_cast<const char*>(p), acpi::kRsdpSignature, acpi::kRsdpSignatureLength))
        return Error::NotFound;
    if (!checksum_ok(p, sizeof(RsdpV1)))
        return Error::Corrupt;

    info = { p[offsetof(RsdpV1, revision)], load<uint32_t>(p + offsetof(RsdpV1, rsdt_address)), 0 };
    if (info.revision < acpi::kRsdpRevisionAcpi2)
        return {};

    // ACPI 2.0+: the extended checksum covers `length` bytes, at least the v2 structure.
    p = read_phys(read, ctx, phys, sizeof(RsdpV2));
    if (p == nullptr)
        return Error::Corrupt;
    uint32_t length = load<uint32_t>(p + offsetof(RsdpV2, length));
    if (length < sizeof(RsdpV2) || length > acpi::kMaxTableLength)
        return Error::Corrupt;
    p = read_phys(read, ctx, phys, length);
    if (p == nullptr || !checksum_ok(p, length))
        return Error::Corrupt;
    info.xsdt_address = load<uint64_t>(p + offsetof(RsdpV2, xsdt_address));
    return {};
}

// Scans [start, start + len) on 16-byte boundaries for a valid RSDP.
Result<uint64_t> scan_for_rsdp(PhysReader read, void* ctx, uint64_t start, uint64_t len, RsdpInfo& info)
{
    for (uint64_t off = 0; off + sizeof(RsdpV1) <= len; off += acpi::kRsdpAlignment) {
        if (parse_rsdp(read, ctx, start + off, info).ok())
            return start + off;
    }
    return Error::NotFound;
}

// Reads a table header, checks its length, then checksums the whole table
// and, when `signature` is given, checks it. Returns the whole table (valid
// until the next read).
Result<const uint8_t*> validate_table(PhysReader read, void* ctx, uint64_t phys, const char* signature = nullptr)
{
    if (phys == 0)
        return Error::NotFound;
    const uint8_t* p = read_phys(read, ctx, phys, sizeof(SdtHeader));
    if (p == nullptr)
        return Error::NotFound;
    uint32_t length = load<uint32_t>(p + offsetof(SdtHeader, length));
    if (length < sizeof(SdtHeader))
        return Error::Corrupt;
    if (length > acpi::kMaxTableLength)
        return Error::TooLong;
    p = read_phys(read, ctx, phys, length);
    if (p == nullptr || !checksum_ok(p, length))
        return Error::Corrupt;  // header readable but body is not: truncated
    if (signature != nullptr && !signature_is(reinterpret_cast<const char*>(p), signature, acpi::kSignatureLength))
        return Error::Corrupt;
    return p;
}

uint32_t table_length(const uint8_t* table) { return load<uint32_t>(table + offsetof(SdtHeader, length)); }

// Walks the entries of a validated root table for `signature`.
Result<uint64_t> search_root(PhysReader read, void* ctx, uint64_t root_phys, uint32_t root_length,
    size_t entry_size, const char* signature)
{
    size_t entries = (root_length - sizeof(SdtHeader)) / entry_size;
    bool saw_bad_match = false;
    for (size_t i = 0; i < entries; ++i) {
        // Re-read each entry: the reader's pointer dies on the next call.
        const uint8_t* e = read_phys(read, ctx, root_phys + sizeof(SdtHeader) + i * entry_size, entry_size);
        if (e == nullptr)
            return Error::Corrupt;
        uint64_t table_phys = entry_size == acpi::kXsdtEntrySize ? load<uint64_t>(e) : load<uint32_t>(e);

        const uint8_t* header = table_phys == 0 ? nullptr : read_phys(read, ctx, table_phys, sizeof(SdtHeader));
        if (header == nullptr || !signature_is(reinterpret_cast<const char*>(header), signature, acpi::kSignatureLength))
            continue;
        if (validate_table(read, ctx, table_phys).ok())
            return table_phys;
        saw_bad_match = true;
    }
    return saw_bad_match ? Error::Corrupt : Error::NotFound;
}

// Reads everything but \_S5_ from the FADT, field by field out of the
// reader's buffer; tail fields are only read when the table is long enough.
[[gnu::noinline]] Result<void> parse_fadt(PhysReader read, void* ctx, uint64_t fadt_phys, AcpiPowerInfo& info)
{
    const uint8_t* p = TRY(validate_table(read, ctx, fadt_phys));
    uint32_t len = table_length(p);
    if (len < acpi::kFadtMinLength)
        return Error::Corrupt;
#define EXO_FADT(field) load<decltype(Fadt::field)>(p + offsetof(Fadt, field))
    // An X_ GAS when the FADT is long enough and it names a system I/O
    // address (§5.2.9: X_ fields take precedence), else the legacy 32-bit
    // field. 0 when neither is a usable port.
    auto port = [&](size_t x_offset, size_t legacy_offset) -> uint16_t {
        if (len >= x_offset + sizeof(GenericAddress)) {
            uint64_t address = load<uint64_t>(p + x_offset + offsetof(GenericAddress, address));
            if (address != 0 && p[x_offset] == static_cast<uint8_t>(acpi::AddressSpace::SystemIo)
                && address <= kMaxIoPort)
                return static_cast<uint16_t>(address);
        }
        uint32_t legacy = load<uint32_t>(p + legacy_offset);
        return legacy <= kMaxIoPort ? static_cast<uint16_t>(legacy) : 0;
    };
    uint32_t flags = EXO_FADT(flags);

    info.fadt_phys = fadt_phys;
    info.fadt_revision = p[offsetof(SdtHeader, revision)];
    info.smi_cmd = EXO_FADT(smi_cmd);
    info.acpi_enable = EXO_FADT(acpi_enable);
    info.pm1_cnt_len = EXO_FADT(pm1_cnt_len);
    info.pm1a_cnt = port(offsetof(Fadt, x_pm1a_cnt_blk), offsetof(Fadt, pm1a_cnt_blk));
    info.pm1b_cnt = port(offsetof(Fadt, x_pm1b_cnt_blk), offsetof(Fadt, pm1b_cnt_blk));
    info.pm_timer = port(offsetof(Fadt, x_pm_tmr_blk), offsetof(Fadt, pm_tmr_blk));
    info.pm_timer_32bit = (flags & acpi::kFadtFlagTmrValExt) != 0;

    uint64_t x_dsdt = len >= offsetof(Fadt, x_dsdt) + sizeof(uint64_t) ? EXO_FADT(x_dsdt) : 0;
    info.dsdt_phys = x_dsdt != 0 ? x_dsdt : EXO_FADT(dsdt);

    if (len >= offsetof(Fadt, reset_value) + sizeof(uint8_t)) {
        GenericAddress r = EXO_FADT(reset_reg);
        info.reset.space = static_cast<acpi::AddressSpace>(r.address_space_id);
        info.reset.bit_width = r.register_bit_width;
        info.reset.bit_offset = r.register_bit_offset;
        info.reset.access_size = r.access_size;
        info.reset.address = r.address;
        info.reset.value = EXO_FADT(reset_value);
        info.reset.supported = (flags & acpi::kFadtFlagResetRegSup) != 0 && r.address != 0;
    }
    if (len >= offsetof(Fadt, sleep_status_reg)) {
        GenericAddress r = EXO_FADT(sleep_control_reg);
        info.sleep_control_space = static_cast<acpi::AddressSpace>(r.address_space_id);
        info.sleep_control = r.address;
    }
#undef EXO_FADT
    return {};
}

// Validates the DSDT and decodes \_S5_ from its AML body.
Result<SleepType> read_dsdt_s5(PhysReader read, void* ctx, uint64_t dsdt_phys)
{
    const uint8_t* p = TRY(validate_table(read, ctx, dsdt_phys, acpi::kDsdtSignature));
    return find_s5_sleep_type(p + sizeof(SdtHeader), table_length(p) - sizeof(SdtHeader));
}

// Decodes one integer package element at aml[*pos], bounded by `end`
// (§20.2.3 ComputationalData / ConstObj). Advances *pos past it.
Result<uint64_t> decode_integer(const uint8_t* aml, size_t end, size_t* pos)
{
    if (*pos >= end)
        return Error::Corrupt;
    uint8_t op = aml[*pos];
    static_assert(acpi::kAmlZeroOp == 0 && acpi::kAmlOneOp == 1);
    if (op <= acpi::kAmlOneOp || op == acpi::kAmlOnesOp) {
        *pos += 1;
        return op == acpi::kAmlOnesOp ? ~uint64_t { 0 } : uint64_t { op };  // ZeroOp and OneOp are their value
    }
    // Byte, Word and DWord prefixes are consecutive (sizes 1, 2, 4); QWord is 0x0E.
    static_assert(acpi::kAmlWordPrefix == acpi::kAmlBytePrefix + 1 && acpi::kAmlDWordPrefix == acpi::kAmlBytePrefix + 2);
    size_t data_size;
    if (op >= acpi::kAmlBytePrefix && op <= acpi::kAmlDWordPrefix)
        data_size = size_t { 1 } << (op - acpi::kAmlBytePrefix);
    else if (op == acpi::kAmlQWordPrefix)
        data_size = 8;
    else
        return Error::Corrupt;  // a name or expression: would need an interpreter
    if (end - *pos - 1 < data_size)
        return Error::Corrupt;
    uint64_t value = 0;
    for (size_t i = 0; i < data_size; ++i)
        value |= static_cast<uint64_t>(aml[*pos + 1 + i]) << (kBitsPerByte * i);
    *pos += 1 + data_size;
    return value;
}

// Decodes the DefPackage starting at aml[pos] (the PackageOp) into a SleepType.
Result<SleepType> decode_s5_package(const uint8_t* aml, size_t size, size_t pos)
{
    size_t pkg_start = pos + 1;  // first byte of PkgLength
    PkgLength pkg = TRY(decode_pkg_length(aml + pkg_start, size - pkg_start));
    if (pkg.length > size - pkg_start)
        return Error::Corrupt;
    size_t end = pkg_start + pkg.length;
    size_t cursor = pkg_start + pkg.encoded_size;
    if (cursor >= end)
        return Error::Corrupt;
    uint8_t num_elements = aml[cursor++];
    if (num_elements == 0)
        return Error::Corrupt;

    uint64_t a = TRY(decode_integer(aml, end, &cursor));
    uint64_t b;
    if (num_elements == 1) {
        // Legacy single-integer form: SLP_TYPa in byte 0, SLP_TYPb in byte 1.
        b = a >> 8;
    } else {
        b = TRY(decode_integer(aml, end, &cursor));
    }
    return SleepType { static_cast<uint8_t>(a & acpi::kSlpTypMask), static_cast<uint8_t>(b & acpi::kSlpTypMask) };
}

}  // namespace

namespace {

// find_rsdp, also handing back the parsed RSDP.
Result<uint64_t> locate_rsdp(PhysReader read, void* ctx, uint64_t hint_phys, RsdpInfo& info)
{
    if (read == nullptr)
        return Error::InvalidArgument;
    if (hint_phys != 0) {
        TRY_VOID(parse_rsdp(read, ctx, hint_phys, info));
        return hint_phys;
    }

    // §5.2.5.1: the EBDA's first KiB first, then the BIOS read-only area.
    const uint8_t* bda = read_phys(read, ctx, acpi::kBdaEbdaSegmentPhys, sizeof(uint16_t));
    if (bda != nullptr) {
        uint64_t ebda = static_cast<uint64_t>(load<uint16_t>(bda)) << acpi::kRealModeSegmentShift;
        if (ebda != 0) {
            auto found = scan_for_rsdp(read, ctx, ebda, acpi::kEbdaSearchLength, info);
            if (found.ok())
                return found;
        }
    }
    return scan_for_rsdp(read, ctx, acpi::kBiosAreaStart, acpi::kBiosAreaEnd - acpi::kBiosAreaStart, info);
}

// find_table after the RSDP is parsed.
Result<uint64_t> find_table_from(PhysReader read, void* ctx, const RsdpInfo& rsdp, const char* signature)
{
    // The XSDT first (ACPI 2.0+). A valid XSDT is authoritative; only a broken
    // one sends us to the RSDT (when there is one: else its error stands).
    bool xsdt = rsdp.revision >= acpi::kRsdpRevisionAcpi2 && rsdp.xsdt_address != 0;
    for (;;) {
        uint64_t root = xsdt ? rsdp.xsdt_address : rsdp.rsdt_address;
        auto table = validate_table(read, ctx, root, xsdt ? acpi::kXsdtSignature : acpi::kRsdtSignature);
        if (table.ok())
            return search_root(read, ctx, root, table_length(table.value()),
                xsdt ? acpi::kXsdtEntrySize : acpi::kRsdtEntrySize, signature);
        if (!xsdt || rsdp.rsdt_address == 0)
            return table.error();
        xsdt = false;
    }
}

}  // namespace

Result<uint64_t> find_rsdp(PhysReader read, void* ctx, uint64_t hint_phys)
{
    RsdpInfo info;
    return locate_rsdp(read, ctx, hint_phys, info);
}

Result<uint64_t> find_table(PhysReader read, void* ctx, uint64_t rsdp_phys, const char* signature)
{
    if (read == nullptr || signature == nullptr)
        return Error::InvalidArgument;
    RsdpInfo rsdp;
    TRY_VOID(parse_rsdp(read, ctx, rsdp_phys, rsdp));
    return find_table_from(read, ctx, rsdp, signature);
}

Result<PkgLength> decode_pkg_length(const uint8_t* aml, size_t size)
{
    if (aml == nullptr || size == 0)
        return Error::Corrupt;
    uint8_t lead = aml[0];
    uint32_t follow = lead >> acpi::kPkgLengthFollowShift;
    if (size < 1 + follow)
        return Error::Corrupt;
    PkgLength pkg { 0, 1 + follow };
    if (follow == 0) {
        pkg.length = lead & acpi::kPkgLengthOneByteMask;
    } else {
        pkg.length = lead & acpi::kPkgLengthLowNibbleMask;
        for (uint32_t i = 0; i < follow; ++i)
            pkg.length |= static_cast<uint32_t>(aml[1 + i]) << (acpi::kPkgLengthLowNibbleBits + kBitsPerByte * i);
    }
    if (pkg.length < pkg.encoded_size)
        return Error::Corrupt;  // the length counts its own encoding
    return pkg;
}

Result<SleepType> find_s5_sleep_type(const uint8_t* aml, size_t size)
{
    if (aml == nullptr)
        return Error::InvalidArgument;
    constexpr size_t kNameLen = acpi::kSignatureLength;
    for (size_t i = 1; i + kNameLen < size; ++i) {
        if (__builtin_memcmp(aml + i, acpi::kS5Name, kNameLen) != 0)
            continue;
        // NameOp NameString: the name is either right after NameOp or after a root '\'.
        bool named = aml[i - 1] == acpi::kAmlNameOp
            || (i >= 2 && aml[i - 1] == acpi::kAmlRootChar && aml[i - 2] == acpi::kAmlNameOp);
        if (!named || aml[i + kNameLen] != acpi::kAmlPackageOp)
            continue;
        return decode_s5_package(aml, size, i + kNameLen);
    }
    return Error::NotFound;
}

Result<void> read_acpi_power_info(PhysReader read, void* ctx, uint64_t rsdp_hint, AcpiPowerInfo& info)
{
    info = AcpiPowerInfo {};
    info.s5_error = Error::NotFound;
    RsdpInfo rsdp;
    info.rsdp_phys = TRY(locate_rsdp(read, ctx, rsdp_hint, rsdp));
    info.rsdp_revision = rsdp.revision;

    uint64_t fadt_phys = TRY(find_table_from(read, ctx, rsdp, acpi::kFadtSignature));
    TRY_VOID(parse_fadt(read, ctx, fadt_phys, info));

    auto s5 = read_dsdt_s5(read, ctx, info.dsdt_phys);
    if (s5.ok()) {
        info.has_s5 = true;
        info.slp_typ_a = s5.value().slp_typ_a;
        info.slp_typ_b = s5.value().slp_typ_b;
    } else {
        info.s5_error = s5.error();
    }
    return {};
}

}  // namespace exo
