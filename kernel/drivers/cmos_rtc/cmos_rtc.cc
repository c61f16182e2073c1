#include "kernel/drivers/cmos_rtc/cmos_rtc.h"

#include <stddef.h>

namespace exo::rtc {

namespace {

constexpr uint8_t kInvalid = 0xFF;  // fails every range check below
constexpr uint8_t kHoursPerHalfDay = 12;
constexpr uint32_t kSecondsPerDay = 86400;
constexpr int64_t kEpochWeekday = 4;  // 1970-01-01 was a Thursday

// Packed BCD: two decimal digits, one per nibble (MC146818A "Data Mode").
uint8_t from_bcd(uint8_t v)
{
    uint8_t hi = v >> 4, lo = v & 0x0F;
    return (hi > 9 || lo > 9) ? kInvalid : static_cast<uint8_t>(hi * 10 + lo);
}

bool is_leap(uint32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

uint8_t days_in_month(uint32_t year, uint8_t month)
{
    static constexpr uint8_t kDays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return static_cast<uint8_t>(kDays[month - 1] + (month == 2 && is_leap(year)));
}

char* put2(char* p, uint32_t v)
{
    *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
    return p;
}

}  // namespace

Result<RtcTime> decode(const RtcRaw& raw, uint8_t status_b)
{
    // Every field through one BCD conversion loop, in RtcRaw order (the
    // hour without its PM bit), instead of a conversion call per field.
    uint8_t v[sizeof(RtcRaw)];
    __builtin_memcpy(v, &raw, sizeof v);
    constexpr size_t kSecond = offsetof(RtcRaw, second), kMinute = offsetof(RtcRaw, minute),
                     kHour = offsetof(RtcRaw, hour), kDay = offsetof(RtcRaw, day), kMonth = offsetof(RtcRaw, month),
                     kYear = offsetof(RtcRaw, year), kCentury = offsetof(RtcRaw, century);
    bool twelve_hour = !(status_b & kStatusB24Hour);
    bool pm = twelve_hour && (v[kHour] & kHourPm);
    if (twelve_hour)
        v[kHour] &= static_cast<uint8_t>(~kHourPm);
    if (!(status_b & kStatusBBinary)) {
        for (uint8_t& b : v)
            b = from_bcd(b);
    }

    uint8_t hour = v[kHour];
    if (twelve_hour) {
        if (hour < 1 || hour > kHoursPerHalfDay)
            return Error::Corrupt;
        // 12 AM is midnight (0), 12 PM is noon (12).
        hour = static_cast<uint8_t>(hour % kHoursPerHalfDay + (pm ? kHoursPerHalfDay : 0));
    }

    uint8_t century = v[kCentury];
    if (century < kMinCentury || century > kMaxCentury)
        century = kDefaultCentury;
    uint8_t year = v[kYear];

    RtcTime t;
    t.year = static_cast<uint16_t>(century * 100 + year);
    t.month = v[kMonth];
    t.day = v[kDay];
    t.hour = hour;
    t.minute = v[kMinute];
    t.second = v[kSecond];
    if (year > 99 || t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month)
        || t.hour > 23 || t.minute > 59 || t.second > 59)
        return Error::Corrupt;
    t.weekday = static_cast<uint8_t>((days_from_civil(t.year, t.month, t.day) % 7 + 7 + kEpochWeekday) % 7);
    return t;
}

// Counts days in "eras" of 400 years (146097 days) with years starting on
// March 1st, so the leap day is the last day of a year and month lengths
// follow the 153-days-per-5-months pattern from March on.
int64_t days_from_civil(int32_t year, uint32_t month, uint32_t day)
{
    constexpr int64_t kDaysPerEra = 146097;
    constexpr int64_t kEpochShift = 719468;  // days from 0000-03-01 to 1970-01-01
    int64_t y = static_cast<int64_t>(year) - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = (month + 9) % 12;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * kDaysPerEra + day_of_era - kEpochShift;
}

int64_t unix_seconds(const RtcTime& t)
{
    return days_from_civil(t.year, t.month, t.day) * kSecondsPerDay + t.hour * 3600 + t.minute * 60 + t.second;
}

// days_from_civil run backwards: eras of 400 years (146097 days) counted
// from 0000-03-01, so the leap day ends each year of the era.
RtcTime from_unix(int64_t seconds)
{
    // 32-bit after the first split: days fit until the year 11 million.
    uint32_t days = static_cast<uint32_t>(static_cast<uint64_t>(seconds) / kSecondsPerDay) + 719468;
    uint32_t secs = static_cast<uint32_t>(static_cast<uint64_t>(seconds) % kSecondsPerDay);
    uint32_t era = days / 146097;
    uint32_t day_of_era = days % 146097;
    uint32_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    uint32_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    uint32_t month_from_march = (5 * day_of_year + 2) / 153;
    uint32_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
    RtcTime t;
    t.year = static_cast<uint16_t>(era * 400 + year_of_era + (month <= 2));
    t.month = static_cast<uint8_t>(month);
    t.day = static_cast<uint8_t>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    t.hour = static_cast<uint8_t>(secs / 3600);
    t.minute = static_cast<uint8_t>(secs / 60 % 60);
    t.second = static_cast<uint8_t>(secs % 60);
    return t;
}

size_t format(const RtcTime& t, char* buf, size_t cap)
{
    if (buf == nullptr || cap < kTextLength + 1)
        return 0;
    // Two digits each, after the separator above them ('\0': none).
    const uint32_t fields[] = { t.year / 100u, t.year % 100u, t.month, t.day, t.hour, t.minute, t.second };
    constexpr char kSeparators[] = "\0\0-- ::";
    char* p = buf;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
        if (kSeparators[i] != '\0')
            *p++ = kSeparators[i];
        p = put2(p, fields[i]);
    }
    *p = '\0';
    return kTextLength;
}

}  // namespace exo::rtc
