// The CMOS clock's decoding and reading. decode() of any raw registers and
// status B (BCD or binary, 12- or 24-hour, any century byte) agrees with a
// reference written here that checks the date with the C library's timegm:
// the same verdict, and for a valid time unix_seconds() and the weekday are
// timegm's; format() writes exactly "YYYY-MM-DD HH:MM:SS" (read back with
// sscanf) and nothing into a buffer one byte short; encoding the time again
// in the same mode decodes to the same time. days_from_civil matches timegm
// for any valid date of years -100000..100000.
// CmosRtc::read() over a chip whose every answer comes from the input (runs
// of one value): every index write carries the NMI choice, data is read only
// after an index is selected, polls give up within their limit, and a time
// is returned only after two equal snapshots, decoded from them.
// Input: status B, the seven raw registers, a year and date for
// days_from_civil, flags, then runs (value, log2 of reads) for the chip.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <memory>
#include <vector>

#include "kernel/drivers/cmos_rtc/cmos_rtc.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

using namespace exo;
using exo::fuzz::FuzzInput;

namespace {

int64_t utc_seconds(int64_t year, int month, int day, int hour, int minute, int second, int* weekday = nullptr)
{
    struct tm tm {};
    tm.tm_year = static_cast<int>(year - 1900);
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    int64_t t = timegm(&tm);
    if (weekday != nullptr)
        *weekday = tm.tm_wday;
    return t;
}

bool valid_date(int64_t year, int month, int day)
{
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return false;
    struct tm tm {};
    tm.tm_year = static_cast<int>(year - 1900);
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = 12;
    timegm(&tm);  // normalises an impossible day into the next month
    return tm.tm_mday == day && tm.tm_mon == month - 1;
}

// decode() as the datasheet reads: the verdict and the time.
bool reference(const RtcRaw& raw, uint8_t status_b, RtcTime& t)
{
    bool bcd = !(status_b & rtc::kStatusBBinary);
    bool h24 = status_b & rtc::kStatusB24Hour;
    auto value = [&](uint8_t v) -> int {
        if (!bcd)
            return v;
        return (v >> 4) <= 9 && (v & 15) <= 9 ? (v >> 4) * 10 + (v & 15) : -1;
    };
    int hour = value(h24 ? raw.hour : raw.hour & 0x7F);
    if (!h24) {
        if (hour < 1 || hour > 12)
            return false;
        hour = hour % 12 + (raw.hour & 0x80 ? 12 : 0);
    }
    int century = value(raw.century);
    if (century < 19 || century > 21)
        century = 20;
    int year = value(raw.year), month = value(raw.month), day = value(raw.day);
    int minute = value(raw.minute), second = value(raw.second);
    if (year < 0 || year > 99 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
        return false;
    if (!valid_date(century * 100 + year, month, day))
        return false;
    t.year = static_cast<uint16_t>(century * 100 + year);
    t.month = static_cast<uint8_t>(month);
    t.day = static_cast<uint8_t>(day);
    t.hour = static_cast<uint8_t>(hour);
    t.minute = static_cast<uint8_t>(minute);
    t.second = static_cast<uint8_t>(second);
    return true;
}

// The registers for `t` in the mode status B says.
RtcRaw encode(const RtcTime& t, uint8_t status_b)
{
    bool bcd = !(status_b & rtc::kStatusBBinary);
    auto put = [&](unsigned v) { return static_cast<uint8_t>(bcd ? (v / 10) << 4 | v % 10 : v); };
    uint8_t hour = put(t.hour);
    if (!(status_b & rtc::kStatusB24Hour))
        hour = static_cast<uint8_t>(put(t.hour % 12 == 0 ? 12 : t.hour % 12) | (t.hour >= 12 ? rtc::kHourPm : 0));
    return { put(t.second), put(t.minute), hour, put(t.day), put(t.month), put(t.year % 100u), put(t.year / 100u) };
}

void check_decode(const RtcRaw& raw, uint8_t status_b)
{
    Result<RtcTime> got = rtc::decode(raw, status_b);
    RtcTime want;
    bool valid = reference(raw, status_b, want);
    FUZZ_CHECK(got.ok() == valid);
    if (!valid) {
        FUZZ_CHECK(got.error() == Error::Corrupt);
        return;
    }
    const RtcTime& t = got.value();
    int weekday = -1;
    int64_t seconds = utc_seconds(t.year, t.month, t.day, t.hour, t.minute, t.second, &weekday);
    FUZZ_CHECK(t.year == want.year && t.month == want.month && t.day == want.day && t.hour == want.hour
        && t.minute == want.minute && t.second == want.second);
    FUZZ_CHECK(t.weekday == weekday && rtc::unix_seconds(t) == seconds);

    std::unique_ptr<char[]> text(new char[rtc::kTextLength + 1]);
    FUZZ_CHECK(rtc::format(t, text.get(), rtc::kTextLength + 1) == rtc::kTextLength);
    FUZZ_CHECK(strlen(text.get()) == rtc::kTextLength);
    unsigned y, mo, d, h, mi, s;
    char tail;
    FUZZ_CHECK(sscanf(text.get(), "%4u-%2u-%2u %2u:%2u:%2u%c", &y, &mo, &d, &h, &mi, &s, &tail) == 6);
    FUZZ_CHECK(y == t.year && mo == t.month && d == t.day && h == t.hour && mi == t.minute && s == t.second);
    std::unique_ptr<char[]> short_buffer(new char[rtc::kTextLength]);
    memset(short_buffer.get(), '#', rtc::kTextLength);
    FUZZ_CHECK(rtc::format(t, short_buffer.get(), rtc::kTextLength) == 0);
    for (size_t i = 0; i < rtc::kTextLength; ++i)
        FUZZ_CHECK(short_buffer[i] == '#');

    Result<RtcTime> again = rtc::decode(encode(t, status_b), status_b);
    FUZZ_CHECK(again.ok() && again.value() == t);
}

// A chip answering from the input; it records which register each read saw.
struct Chip {
    FuzzInput* in;
    uint8_t value = 0;
    uint32_t left = 0;
    int index = -1;  // selected register, -1 before any
    uint8_t nmi = 0;
    std::vector<std::pair<uint8_t, uint8_t>> reads;  // (register, value)
    size_t accesses = 0;

    uint8_t next()
    {
        if (left == 0) {
            if (in->empty())
                return 0x00;  // then a settled chip: UIP clear, registers stable
            value = in->byte();
            left = 1u << (in->byte() % 18);
        }
        --left;
        return value;
    }
};

class ChipIo {
public:
    explicit ChipIo(Chip& c) : m_c(&c) {}
    uint8_t read8(uint16_t port)
    {
        FUZZ_CHECK(port == rtc::kDataPort && m_c->index >= 0);
        ++m_c->accesses;
        uint8_t v = m_c->next();
        m_c->reads.push_back({ static_cast<uint8_t>(m_c->index), v });
        return v;
    }
    void write8(uint16_t port, uint8_t v)
    {
        FUZZ_CHECK(port == rtc::kIndexPort && (v & 0x80) == m_c->nmi);
        ++m_c->accesses;
        m_c->index = v & 0x7F;
    }
    uint16_t read16(uint16_t) { FUZZ_CHECK(!"16-bit read"); return 0; }
    uint32_t read32(uint16_t) { FUZZ_CHECK(!"32-bit read"); return 0; }
    void write16(uint16_t, uint16_t) { FUZZ_CHECK(!"16-bit write"); }
    void write32(uint16_t, uint32_t) { FUZZ_CHECK(!"32-bit write"); }

private:
    Chip* m_c;
};
static_assert(PortIo<ChipIo>);

void check_read(FuzzInput& in)
{
    uint8_t flags = in.byte();
    Nmi nmi = flags & 1 ? Nmi::Disabled : Nmi::Enabled;
    uint8_t century_reg = flags & 2 ? 0 : rtc::kRegCenturyDefault;
    Chip chip { &in };
    chip.nmi = static_cast<uint8_t>(nmi);
    CmosRtc<ChipIo> rtc_chip(ChipIo(chip), century_reg, nmi);
    Result<RtcTime> got = rtc_chip.read();
    FUZZ_CHECK(chip.accesses <= 4 + rtc::kMaxSnapshots * (1 + rtc::kUipPollLimit + 2 * 7));
    FUZZ_CHECK(chip.reads.size() >= 2 && chip.reads[0].first == rtc::kRegStatusA && chip.reads[1].first == rtc::kRegStatusB);
    uint8_t status_b = chip.reads[1].second;
    if (chip.reads[0].second == rtc::kAbsentValue || status_b == rtc::kAbsentValue) {
        FUZZ_CHECK(!got.ok() && got.error() == Error::Absent && chip.reads.size() == 2);
        return;
    }
    if (!got.ok() && got.error() == Error::Timeout)
        return;
    // The last two snapshots: the time registers in order, each after a
    // poll of status A that found no update in progress.
    static const uint8_t kOrder[] = { rtc::kRegSeconds, rtc::kRegMinutes, rtc::kRegHours, rtc::kRegDay,
        rtc::kRegMonth, rtc::kRegYear, rtc::kRegCenturyDefault };
    size_t n = century_reg ? 7 : 6;
    uint8_t snapshot[2][7] = {};
    size_t end = chip.reads.size();
    for (size_t s = 2; s-- > 0;) {
        FUZZ_CHECK(end >= n + 1);
        for (size_t i = 0; i < n; ++i) {
            auto [reg, value] = chip.reads[end - n + i];
            FUZZ_CHECK(reg == kOrder[i]);
            snapshot[s][i] = value;
        }
        end -= n;
        auto [reg, value] = chip.reads[end - 1];
        FUZZ_CHECK(reg == rtc::kRegStatusA && !(value & rtc::kStatusAUpdateInProgress));
        while (end > 2 && chip.reads[end - 1].first == rtc::kRegStatusA)
            --end;
    }
    FUZZ_CHECK(memcmp(snapshot[0], snapshot[1], sizeof snapshot[0]) == 0);
    RtcRaw raw { snapshot[1][0], snapshot[1][1], snapshot[1][2], snapshot[1][3], snapshot[1][4], snapshot[1][5],
        snapshot[1][6] };
    Result<RtcTime> want = rtc::decode(raw, status_b);
    FUZZ_CHECK(got.ok() == want.ok() && (!got.ok() || got.value() == want.value()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    uint8_t status_b = in.byte();
    RtcRaw raw { in.byte(), in.byte(), in.byte(), in.byte(), in.byte(), in.byte(), in.byte() };
    check_decode(raw, status_b);

    int32_t year = in.take<int32_t>() % 100001;
    uint32_t month = 1 + in.byte() % 12, day = 1 + in.byte() % 31;
    if (valid_date(year, static_cast<int>(month), static_cast<int>(day)))
        FUZZ_CHECK(rtc::days_from_civil(year, month, day) * 86400 == utc_seconds(year, static_cast<int>(month), static_cast<int>(day), 0, 0, 0));

    check_read(in);
    return 0;
}
