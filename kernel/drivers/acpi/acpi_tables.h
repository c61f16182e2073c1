// ACPI table parsing for soft power-off (S5) and reset: find the RSDP, walk the
// RSDT/XSDT to the FADT, pull out the PM1 control ports, SMI command port, reset
// register and DSDT, and decode the \_S5_ package from the DSDT's AML.
//
// Pure code: physical memory is only read through a PhysReader the caller
// supplies (the kernel maps physical pages, host tests serve a fake memory).
// Every read is bounds-checked against the length the reader was asked for and
// against the table's own Length field. Nothing here touches ports; the binding
// writes the values this computes.
//
// References are to the ACPI Specification 6.5.
#pragma once

#include <bit>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace exo {

// Returns a pointer to `len` contiguous bytes of physical memory starting at
// `phys`, or nullptr when that range cannot be read. The pointer only needs to
// stay valid until the next call: the parser never holds two at once.
using PhysReader = const uint8_t* (*)(void* ctx, uint64_t phys, size_t len);

namespace acpi {

static_assert(std::endian::native == std::endian::little, "ACPI tables are little-endian");

constexpr size_t kSignatureLength = 4;  // §5.2.6 System Description Table Header: Signature

// §5.2.5.1 Finding the RSDP on IA-PC Systems.
constexpr char kRsdpSignature[] = "RSD PTR ";   // 8 bytes, no NUL in memory
constexpr size_t kRsdpSignatureLength = 8;
constexpr uint64_t kBdaEbdaSegmentPhys = 0x40E;  // BDA word: EBDA real-mode segment
constexpr uint64_t kEbdaSearchLength = 1024;     // "first 1 KB of the EBDA"
constexpr uint64_t kBiosAreaStart = 0xE0000;     // BIOS read-only area, inclusive
constexpr uint64_t kBiosAreaEnd = 0x100000;      // ... exclusive (0xFFFFF is the last byte)
constexpr uint64_t kRsdpAlignment = 16;          // RSDP sits on a 16-byte boundary
constexpr uint32_t kRealModeSegmentShift = 4;    // segment * 16 = physical base

constexpr uint8_t kRsdpRevisionAcpi2 = 2;  // §5.2.5.3: 0 = ACPI 1.0, 2 = ACPI 2.0+ (has XSDT)

// §5.2.6 table signatures (Table 5.5 DESCRIPTION_HEADER Signatures).
constexpr char kRsdtSignature[] = "RSDT";
constexpr char kXsdtSignature[] = "XSDT";
constexpr char kFadtSignature[] = "FACP";
constexpr char kDsdtSignature[] = "DSDT";

// No sane firmware table is this large; bigger lengths are treated as corrupt
// rather than mapped.
constexpr uint32_t kMaxTableLength = 16u * 1024 * 1024;

// §5.2.3.2 Generic Address Structure: Address Space ID values.
enum class AddressSpace : uint8_t {
    SystemMemory = 0x00,
    SystemIo = 0x01,
    PciConfig = 0x02,
};

// §5.2.3.2 Generic Address Structure (GAS).
struct [[gnu::packed]] GenericAddress {
    uint8_t address_space_id;
    uint8_t register_bit_width;
    uint8_t register_bit_offset;
    uint8_t access_size;  // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
    uint64_t address;
};
static_assert(sizeof(GenericAddress) == 12);

// §5.2.5.3 Root System Description Pointer (RSDP) Structure, ACPI 1.0 part.
struct [[gnu::packed]] RsdpV1 {
    char signature[8];
    uint8_t checksum;  // bytes 0-19 sum to zero
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
};
static_assert(sizeof(RsdpV1) == 20);

// §5.2.5.3 RSDP Structure, ACPI 2.0+ extension.
struct [[gnu::packed]] RsdpV2 {
    RsdpV1 v1;
    uint32_t length;  // whole structure, covered by extended_checksum
    uint64_t xsdt_address;
    uint8_t extended_checksum;
    uint8_t reserved[3];
};
static_assert(sizeof(RsdpV2) == 36);
static_assert(offsetof(RsdpV2, length) == 20);
static_assert(offsetof(RsdpV2, xsdt_address) == 24);

// §5.2.6 System Description Table Header (Table 5.4 DESCRIPTION_HEADER Fields).
struct [[gnu::packed]] SdtHeader {
    char signature[4];
    uint32_t length;  // whole table including this header
    uint8_t revision;
    uint8_t checksum;  // whole table sums to zero
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

// §5.2.7 RSDT / §5.2.8 XSDT: header followed by an array of table addresses.
constexpr size_t kRsdtEntrySize = 4;
constexpr size_t kXsdtEntrySize = 8;

// §5.2.9 Fixed ACPI Description Table (FADT), Table 5.9 FADT Format. Only the
// fields up to X_DSDT's neighbours matter here; the struct covers the whole
// ACPI 6.5 layout so static_asserts pin every offset to the spec's table.
struct [[gnu::packed]] Fadt {
    SdtHeader header;
    uint32_t firmware_ctrl;          // FIRMWARE_CTRL
    uint32_t dsdt;                   // DSDT
    uint8_t reserved0;               // INT_MODEL in ACPI 1.0
    uint8_t preferred_pm_profile;    // Preferred_PM_Profile
    uint16_t sci_int;                // SCI_INT
    uint32_t smi_cmd;                // SMI_CMD
    uint8_t acpi_enable;             // ACPI_ENABLE
    uint8_t acpi_disable;            // ACPI_DISABLE
    uint8_t s4bios_req;              // S4BIOS_REQ
    uint8_t pstate_cnt;              // PSTATE_CNT
    uint32_t pm1a_evt_blk;           // PM1a_EVT_BLK
    uint32_t pm1b_evt_blk;           // PM1b_EVT_BLK
    uint32_t pm1a_cnt_blk;           // PM1a_CNT_BLK
    uint32_t pm1b_cnt_blk;           // PM1b_CNT_BLK
    uint32_t pm2_cnt_blk;            // PM2_CNT_BLK
    uint32_t pm_tmr_blk;             // PM_TMR_BLK
    uint32_t gpe0_blk;               // GPE0_BLK
    uint32_t gpe1_blk;               // GPE1_BLK
    uint8_t pm1_evt_len;             // PM1_EVT_LEN
    uint8_t pm1_cnt_len;             // PM1_CNT_LEN
    uint8_t pm2_cnt_len;             // PM2_CNT_LEN
    uint8_t pm_tmr_len;              // PM_TMR_LEN
    uint8_t gpe0_blk_len;            // GPE0_BLK_LEN
    uint8_t gpe1_blk_len;            // GPE1_BLK_LEN
    uint8_t gpe1_base;               // GPE1_BASE
    uint8_t cst_cnt;                 // CST_CNT
    uint16_t p_lvl2_lat;             // P_LVL2_LAT
    uint16_t p_lvl3_lat;             // P_LVL3_LAT
    uint16_t flush_size;             // FLUSH_SIZE
    uint16_t flush_stride;           // FLUSH_STRIDE
    uint8_t duty_offset;             // DUTY_OFFSET
    uint8_t duty_width;              // DUTY_WIDTH
    uint8_t day_alrm;                // DAY_ALRM
    uint8_t mon_alrm;                // MON_ALRM
    uint8_t century;                 // CENTURY
    uint16_t iapc_boot_arch;         // IAPC_BOOT_ARCH
    uint8_t reserved1;
    uint32_t flags;                  // Flags (Table 5.10)
    GenericAddress reset_reg;        // RESET_REG (ACPI 2.0+)
    uint8_t reset_value;             // RESET_VALUE
    uint16_t arm_boot_arch;          // ARM_BOOT_ARCH
    uint8_t fadt_minor_version;      // FADT Minor Version
    uint64_t x_firmware_ctrl;        // X_FIRMWARE_CTRL
    uint64_t x_dsdt;                 // X_DSDT
    GenericAddress x_pm1a_evt_blk;   // X_PM1a_EVT_BLK
    GenericAddress x_pm1b_evt_blk;   // X_PM1b_EVT_BLK
    GenericAddress x_pm1a_cnt_blk;   // X_PM1a_CNT_BLK
    GenericAddress x_pm1b_cnt_blk;   // X_PM1b_CNT_BLK
    GenericAddress x_pm2_cnt_blk;    // X_PM2_CNT_BLK
    GenericAddress x_pm_tmr_blk;     // X_PM_TMR_BLK
    GenericAddress x_gpe0_blk;       // X_GPE0_BLK
    GenericAddress x_gpe1_blk;       // X_GPE1_BLK
    GenericAddress sleep_control_reg;  // SLEEP_CONTROL_REG
    GenericAddress sleep_status_reg;   // SLEEP_STATUS_REG
    uint64_t hypervisor_vendor_id;     // Hypervisor Vendor Identity
};
static_assert(offsetof(Fadt, dsdt) == 40);
static_assert(offsetof(Fadt, smi_cmd) == 48);
static_assert(offsetof(Fadt, acpi_enable) == 52);
static_assert(offsetof(Fadt, pm1a_cnt_blk) == 64);
static_assert(offsetof(Fadt, pm1b_cnt_blk) == 68);
static_assert(offsetof(Fadt, pm1_cnt_len) == 89);
static_assert(offsetof(Fadt, flags) == 112);
static_assert(offsetof(Fadt, reset_reg) == 116);
static_assert(offsetof(Fadt, reset_value) == 128);
static_assert(offsetof(Fadt, x_dsdt) == 140);
static_assert(offsetof(Fadt, x_pm1a_cnt_blk) == 172);
static_assert(offsetof(Fadt, x_pm1b_cnt_blk) == 184);
static_assert(sizeof(Fadt) == 276);

// An ACPI 1.0 FADT ends right after Flags; anything shorter lacks PM1 fields.
constexpr uint32_t kFadtMinLength = offsetof(Fadt, reset_reg);
static_assert(kFadtMinLength == 116);

// Table 5.10 Fixed ACPI Description Table Fixed Feature Flags.
constexpr uint32_t kFadtFlagResetRegSup = 1u << 10;  // RESET_REG_SUP
constexpr uint32_t kFadtFlagTmrValExt = 1u << 8;     // TMR_VAL_EXT: the PM timer is 32 bits, else 24
// §4.8.3.3 Power Management Timer: 3.579545 MHz.
constexpr uint64_t kPmTimerHz = 3579545;

// §4.8.3.2.1 PM1 Control Registers, Table 4.13 (PM1 Control Registers Fixed
// Hardware Feature Control Bits).
constexpr uint16_t kPm1CntSciEn = 1u << 0;     // SCI_EN: 1 once the OS owns ACPI
constexpr uint32_t kPm1CntSlpTypShift = 10;   // SLP_TYPx: bits 10-12
constexpr uint16_t kSlpTypMask = 0x7;         // SLP_TYPx is 3 bits wide
constexpr uint16_t kPm1CntSlpTypMask = kSlpTypMask << kPm1CntSlpTypShift;
constexpr uint16_t kPm1CntSlpEn = 1u << 13;   // SLP_EN: write 1 to enter SLP_TYPx

// §20.2 AML Grammar Definition: the opcodes and prefixes that can appear in a
// \_S5_ package (§20.2.3 Data Objects Encoding, §20.2.5.2 Named Objects
// Encoding, §20.2.5.4 Expression Opcodes Encoding for DefPackage).
constexpr uint8_t kAmlZeroOp = 0x00;
constexpr uint8_t kAmlOneOp = 0x01;
constexpr uint8_t kAmlNameOp = 0x08;
constexpr uint8_t kAmlBytePrefix = 0x0A;
constexpr uint8_t kAmlWordPrefix = 0x0B;
constexpr uint8_t kAmlDWordPrefix = 0x0C;
constexpr uint8_t kAmlQWordPrefix = 0x0E;
constexpr uint8_t kAmlPackageOp = 0x12;
constexpr uint8_t kAmlOnesOp = 0xFF;
constexpr uint8_t kAmlRootChar = '\\';
constexpr char kS5Name[] = "_S5_";  // §7.4.2 \_Sx (System States); NameSeg, 4 bytes

// §20.2.4 Package Length Encoding: PkgLeadByte bits 7-6 give the count of
// following bytes; with none, bits 5-0 are the length, otherwise bits 3-0 are
// its low nibble and each following byte adds 8 more bits.
constexpr uint8_t kPkgLengthFollowShift = 6;
constexpr uint8_t kPkgLengthOneByteMask = 0x3F;
constexpr uint8_t kPkgLengthLowNibbleMask = 0x0F;
constexpr uint32_t kPkgLengthLowNibbleBits = 4;

}  // namespace acpi

// A decoded PkgLength: `length` counts from the PkgLength's first byte to the
// end of the package (it includes its own encoding); `encoded_size` is 1-4.
struct PkgLength {
    uint32_t length;
    uint32_t encoded_size;
};

// The two SLP_TYP values from a \_Sx package, already masked to 3 bits.
struct SleepType {
    uint8_t slp_typ_a;
    uint8_t slp_typ_b;
};

// How to reset the machine (§4.8.3.6 Reset Register). `supported` is true only
// when the FADT is long enough, sets RESET_REG_SUP and gives a non-zero address.
struct ResetRegister {
    bool supported;
    acpi::AddressSpace space;
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;
    uint64_t address;
    uint8_t value;  // RESET_VALUE: write this byte to `address`
};

struct AcpiPowerInfo {
    uint64_t rsdp_phys;
    uint8_t rsdp_revision;
    uint64_t fadt_phys;
    uint8_t fadt_revision;
    uint64_t dsdt_phys;    // 0 when the FADT names no DSDT
    uint16_t pm1a_cnt;     // I/O port of PM1a_CNT; 0 when the FADT has none in I/O space
    uint16_t pm1b_cnt;     // I/O port of PM1b_CNT; 0 when absent (usual)
    uint8_t pm1_cnt_len;   // PM1_CNT_LEN in bytes (2 on PIIX4)
    uint32_t smi_cmd;      // SMI command port; 0 means ACPI is always enabled
    uint8_t acpi_enable;   // value to write to smi_cmd to hand ACPI to the OS
    bool has_s5;
    uint8_t slp_typ_a;     // valid when has_s5
    uint8_t slp_typ_b;     // valid when has_s5
    Error s5_error;        // why has_s5 is false: NotFound or Corrupt (or a read failure)
    uint16_t pm_timer;     // I/O port of the PM timer (PM_TMR_BLK); 0 when absent (hardware-reduced)
    bool pm_timer_32bit;   // TMR_VAL_EXT
    ResetRegister reset;
    // Hardware-reduced ACPI (no PM1 blocks, e.g. QEMU's microvm): S5 is
    // entered through SLEEP_CONTROL_REG (§4.8.3.7). 0 when absent.
    acpi::AddressSpace sleep_control_space;
    uint64_t sleep_control;
};

// Locates the RSDP. A non-zero `hint_phys` (e.g. from the boot loader) is
// validated in place and its error returned if it is bad; with no hint, the
// first KiB of the EBDA and then 0xE0000-0xFFFFF are scanned on 16-byte
// boundaries (§5.2.5.1). Returns the RSDP's physical address.
Result<uint64_t> find_rsdp(PhysReader read, void* ctx, uint64_t hint_phys);

// Finds the first table with `signature` (4 chars) listed in the XSDT (ACPI
// 2.0+, non-zero address) or else the RSDT, whose length and checksum are
// valid. Falls back to the RSDT when the XSDT is unreadable or corrupt.
// NotFound when no entry has that signature, Corrupt when only bad ones do.
Result<uint64_t> find_table(PhysReader read, void* ctx, uint64_t rsdp_phys, const char* signature);

// Decodes a PkgLength at `aml[0]`, bounded by `size`.
Result<PkgLength> decode_pkg_length(const uint8_t* aml, size_t size);

// Finds `Name (\_S5_, Package () {a, b, ...})` in an AML byte stream (the DSDT
// body after its header) and returns SLP_TYPa/b. NotFound when there is no such
// definition, Corrupt when it exists but cannot be decoded within `size`.
Result<SleepType> find_s5_sleep_type(const uint8_t* aml, size_t size);

// Everything `poweroff` and `reboot` need, from the RSDP down to \_S5_. Fails
// only when the RSDP or a valid FADT cannot be found; a missing or undecodable
// \_S5_ gives has_s5 = false with the reason in s5_error. Fills `info` in
// place (partly filled on failure).
Result<void> read_acpi_power_info(PhysReader read, void* ctx, uint64_t rsdp_hint, AcpiPowerInfo& info);

// The value to write to PM1x_CNT to enter the sleep state `slp_typ` (§4.8.3.2.1
// PM1 Control Registers): SLP_TYP in bits 10-12 plus SLP_EN (bit 13). Other bits
// of `current` (e.g. SCI_EN) are kept, as the spec asks for read-modify-write.
constexpr uint16_t pm1_control_sleep_value(uint8_t slp_typ, uint16_t current = 0)
{
    uint16_t keep = current & static_cast<uint16_t>(~(acpi::kPm1CntSlpTypMask | acpi::kPm1CntSlpEn));
    uint16_t typ = static_cast<uint16_t>((slp_typ & acpi::kSlpTypMask) << acpi::kPm1CntSlpTypShift);
    return static_cast<uint16_t>(keep | typ | acpi::kPm1CntSlpEn);
}
static_assert(pm1_control_sleep_value(0) == 0x2000);
static_assert(pm1_control_sleep_value(5, acpi::kPm1CntSciEn) == 0x3401);

}  // namespace exo
