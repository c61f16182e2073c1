// MC146818-compatible CMOS real-time clock (Motorola MC146818A datasheet;
// register map as on every PC since the AT). Pure driver logic over a PortIo:
// the kernel instantiates it with the real ports, host tests with a fake CMOS.
//
// NMI: bit 7 of the index written to port 0x70 masks NMI on PC chipsets. The
// port is write-only, so there is no previous value to preserve; the caller
// chooses once (Nmi::Enabled by default, i.e. bit 7 clear, which leaves NMI as
// the rest of the kernel expects) and every index write carries that choice.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/io.h"
#include "kernel/lib/result.h"

namespace exo {

namespace rtc {
constexpr uint16_t kIndexPort = 0x70;
constexpr uint16_t kDataPort = 0x71;

// Register indices (MC146818A "Address Map").
constexpr uint8_t kRegSeconds = 0x00;
constexpr uint8_t kRegMinutes = 0x02;
constexpr uint8_t kRegHours = 0x04;
constexpr uint8_t kRegDay = 0x07;       // day of month
constexpr uint8_t kRegMonth = 0x08;
constexpr uint8_t kRegYear = 0x09;      // two digits
constexpr uint8_t kRegStatusA = 0x0A;
constexpr uint8_t kRegStatusB = 0x0B;
// Century byte: not part of the MC146818; IBM AT convention, and the index
// ACPI's FADT CENTURY field usually names (ACPI 6.5 §5.2.9). 0 = none.
constexpr uint8_t kRegCenturyDefault = 0x32;

constexpr uint8_t kStatusAUpdateInProgress = 0x80;  // UIP: registers are being updated
constexpr uint8_t kStatusBBinary = 0x04;            // DM: 1 = binary, 0 = BCD
constexpr uint8_t kStatusB24Hour = 0x02;            // 24/12: 1 = 24-hour mode
constexpr uint8_t kHourPm = 0x80;                   // 12-hour mode: PM flag in the hours byte
constexpr uint8_t kAbsentValue = 0xFF;              // floating ISA bus: no RTC behind 0x71

// Status A polls while UIP is set. An update cycle takes at most 1984 us plus
// the 244 us UIP warning (datasheet "Update Cycle"); this bound is far above
// that at any plausible port-read speed, yet finite on a stuck chip.
constexpr uint32_t kUipPollLimit = 100000;
// Snapshots taken until two consecutive ones agree.
constexpr uint32_t kMaxSnapshots = 5;

constexpr uint16_t kDefaultCentury = 20;  // when the century byte is missing or implausible
constexpr uint8_t kMinCentury = 19;
constexpr uint8_t kMaxCentury = 21;

constexpr size_t kTextLength = 19;  // "2026-11-25 21:47:08"
}  // namespace rtc

// Raw register bytes exactly as read, before BCD/12-hour decoding.
// Field order is the order CmosRtc::snapshot reads the registers.
struct RtcRaw {
    uint8_t second;
    uint8_t minute;
    uint8_t hour;
    uint8_t day;
    uint8_t month;
    uint8_t year;     // 0-99
    uint8_t century;  // raw century byte, 0 when there is no century register
    bool operator==(const RtcRaw&) const = default;
};

struct RtcTime {
    uint16_t year { 0 };   // full year, e.g. 2026
    uint8_t month { 0 };   // 1-12
    uint8_t day { 0 };     // 1-31
    uint8_t hour { 0 };    // 0-23
    uint8_t minute { 0 };  // 0-59
    uint8_t second { 0 };  // 0-59
    // 0 = Sunday. Computed from the date: firmware often leaves register 0x06 stale.
    uint8_t weekday { 0 };
    bool operator==(const RtcTime&) const = default;
};

enum class Nmi : uint8_t {
    Enabled = 0x00,
    Disabled = 0x80,  // index bit 7 set: NMI masked while the RTC is addressed (and after)
};

namespace rtc {

// Decodes raw registers per status register B (BCD/binary, 12/24 hour).
// A century byte outside kMinCentury..kMaxCentury (or a bad BCD digit in it)
// means "no usable century register" and 20xx is assumed. Any field out of
// range, including a day past the end of its month, is Error::Corrupt.
Result<RtcTime> decode(const RtcRaw& raw, uint8_t status_b);

// Days since 1970-01-01 of a proleptic Gregorian date (negative before).
int64_t days_from_civil(int32_t year, uint32_t month, uint32_t day);

// Seconds since the Unix epoch, the RTC read as UTC.
int64_t unix_seconds(const RtcTime& t);
// The inverse, for seconds >= 0 (weekday left 0): the date `uptime` prints.
RtcTime from_unix(int64_t seconds);

// Writes "YYYY-MM-DD HH:MM:SS" plus a NUL; returns kTextLength, or 0 (and
// writes nothing) when cap < kTextLength + 1.
size_t format(const RtcTime& t, char* buf, size_t cap);

}  // namespace rtc

template<PortIo Io>
class CmosRtc {
public:
    // century_reg: index of the century byte (ACPI FADT CENTURY), 0 for none.
    constexpr explicit CmosRtc(Io io, uint8_t century_reg = rtc::kRegCenturyDefault, Nmi nmi = Nmi::Enabled)
        : m_io(io), m_century_reg(century_reg), m_nmi(static_cast<uint8_t>(nmi))
    {
    }

    // Absent when status A or B reads 0xFF (no chip answers, e.g. nothing
    // decodes port 0x71). Timeout when UIP never clears or the registers
    // never read the same twice in a row.
    Result<RtcTime> read()
    {
        uint8_t status_a = reg(rtc::kRegStatusA);
        uint8_t status_b = reg(rtc::kRegStatusB);
        if (status_a == rtc::kAbsentValue || status_b == rtc::kAbsentValue)
            return Error::Absent;
        uint64_t prev = 0;
        for (uint32_t i = 0; i < rtc::kMaxSnapshots; ++i) {
            TRY_VOID(wait_not_updating());
            uint64_t now = snapshot();
            if (i > 0 && now == prev) {
                RtcRaw raw;
                __builtin_memcpy(&raw, &now, sizeof raw);  // little-endian: byte i is field i
                return rtc::decode(raw, status_b);
            }
            prev = now;
        }
        return Error::Timeout;
    }

private:
    void select(uint8_t index) { m_io.write8(rtc::kIndexPort, static_cast<uint8_t>(index | m_nmi)); }

    uint8_t reg(uint8_t index)
    {
        select(index);
        return m_io.read8(rtc::kDataPort);
    }

    // The index stays latched, so polling status A is one read per iteration.
    Result<void> wait_not_updating()
    {
        select(rtc::kRegStatusA);
        for (uint32_t i = 0; i < rtc::kUipPollLimit; ++i) {
            if (!(m_io.read8(rtc::kDataPort) & rtc::kStatusAUpdateInProgress))
                return {};
        }
        return Error::Timeout;
    }

    // The registers packed in one word, byte i = RtcRaw field i: one loop
    // over the indices and one compare, where seven unrolled reads and
    // seven byte compares were.
    uint64_t snapshot()
    {
        static constexpr uint8_t kRegs[] = { rtc::kRegSeconds, rtc::kRegMinutes, rtc::kRegHours,
                                             rtc::kRegDay, rtc::kRegMonth, rtc::kRegYear };
        uint64_t v = 0;
        for (size_t i = 0; i < sizeof kRegs; ++i)
            v |= static_cast<uint64_t>(reg(kRegs[i])) << (8 * i);
        if (m_century_reg)
            v |= static_cast<uint64_t>(reg(m_century_reg)) << (8 * sizeof kRegs);
        return v;
    }

    Io m_io;
    uint8_t m_century_reg;
    uint8_t m_nmi;
};

}  // namespace exo
