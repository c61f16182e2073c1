#include "kernel/drivers/cmos_rtc/cmos_rtc.h"

#include <cstring>
#include <string>

#include "tests/unit/fake_io.h"

using namespace exo;
using namespace exo::test;

namespace {

constexpr uint8_t kBcd24 = rtc::kStatusB24Hour;                        // BCD, 24 h (firmware default)
constexpr uint8_t kBin24 = rtc::kStatusB24Hour | rtc::kStatusBBinary;  // binary, 24 h
constexpr uint8_t kBin12 = rtc::kStatusBBinary;                        // binary, 12 h
constexpr uint8_t kBcd12 = 0;                                          // BCD, 12 h

// A model of the chip behind ports 0x70/0x71: 128 registers, a latched index,
// and knobs for an update in progress and for registers that keep changing.
struct CmosModel {
    uint8_t regs[128] {};
    uint8_t index = 0;
    std::vector<uint8_t> index_writes;  // raw bytes written to 0x70, NMI bit included
    int uip_reads = 0;                  // status A reads that still report UIP
    bool uip_forever = false;
    int ticks_left = 0;                 // seconds-register reads that advance the clock first
    int status_a_reads = 0;
    int snapshots = 0;                  // seconds-register reads

    void set_time(uint8_t sec, uint8_t min, uint8_t hour, uint8_t day, uint8_t mon, uint8_t year, uint8_t century)
    {
        regs[rtc::kRegSeconds] = sec;
        regs[rtc::kRegMinutes] = min;
        regs[rtc::kRegHours] = hour;
        regs[rtc::kRegDay] = day;
        regs[rtc::kRegMonth] = mon;
        regs[rtc::kRegYear] = year;
        regs[rtc::kRegCenturyDefault] = century;
    }

    uint8_t read()
    {
        uint8_t i = index & 0x7F;
        if (i == rtc::kRegStatusA) {
            ++status_a_reads;
            if (uip_forever || uip_reads > 0) {
                --uip_reads;
                return regs[i] | rtc::kStatusAUpdateInProgress;
            }
        }
        if (i == rtc::kRegSeconds) {
            ++snapshots;
            if (ticks_left > 0) {
                --ticks_left;
                regs[i] = static_cast<uint8_t>((regs[i] + 1) % 60);
            }
        }
        return regs[i];
    }
};

class CmosIo {
public:
    explicit CmosIo(CmosModel& m) : m_m(&m) {}
    uint8_t read8(uint16_t port)
    {
        EXPECT_EQ(port, rtc::kDataPort);
        return m_m->read();
    }
    void write8(uint16_t port, uint8_t v)
    {
        EXPECT_EQ(port, rtc::kIndexPort);
        m_m->index = v;
        m_m->index_writes.push_back(v);
    }
    uint16_t read16(uint16_t) { ADD_FAILURE(); return 0; }
    uint32_t read32(uint16_t) { ADD_FAILURE(); return 0; }
    void write16(uint16_t, uint16_t) { ADD_FAILURE(); }
    void write32(uint16_t, uint32_t) { ADD_FAILURE(); }

private:
    CmosModel* m_m;
};
static_assert(PortIo<CmosIo>);

CmosModel qemu_like(uint8_t status_b)
{
    CmosModel m;
    m.regs[rtc::kRegStatusA] = 0x26;  // 32.768 kHz divider, 1024 Hz rate
    m.regs[rtc::kRegStatusB] = status_b;
    return m;
}

RtcTime time_of(uint16_t y, uint8_t mo, uint8_t d, uint8_t h, uint8_t mi, uint8_t s, uint8_t wd)
{
    RtcTime t;
    t.year = y, t.month = mo, t.day = d, t.hour = h, t.minute = mi, t.second = s, t.weekday = wd;
    return t;
}

std::string text(const RtcTime& t)
{
    char buf[32];
    EXPECT_EQ(rtc::format(t, buf, sizeof buf), rtc::kTextLength);
    return buf;
}

}  // namespace

TEST(CmosRtc, ReadsBcd24HourWithCentury)
{
    CmosModel m = qemu_like(kBcd24);
    m.set_time(0x08, 0x47, 0x21, 0x25, 0x11, 0x26, 0x20);
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    Result<RtcTime> r = rtc_dev.read();
    ASSERT_TRUE(r.ok()) << error_name(r.error());
    EXPECT_EQ(r.value(), time_of(2026, 11, 25, 21, 47, 8, 3));  // a Wednesday
    EXPECT_EQ(text(r.value()), "2026-11-25 21:47:08");
    EXPECT_EQ(rtc::unix_seconds(r.value()), 1795643228);
    EXPECT_EQ(m.snapshots, 2);  // two agreeing snapshots suffice
}

TEST(CmosRtc, ExactPortSequenceWithNmiMasked)
{
    IoScript s;
    auto reg = [&](uint8_t index, uint8_t value) {
        s.expected.push_back(out(rtc::kIndexPort, index | 0x80));
        s.expected.push_back(in(rtc::kDataPort, value));
    };
    reg(rtc::kRegStatusA, 0x26);
    reg(rtc::kRegStatusB, kBin24);
    for (int i = 0; i < 2; ++i) {
        s.expected.push_back(out(rtc::kIndexPort, rtc::kRegStatusA | 0x80));
        s.expected.push_back(in(rtc::kDataPort, 0x26));  // UIP clear
        reg(rtc::kRegSeconds, 59);
        reg(rtc::kRegMinutes, 59);
        reg(rtc::kRegHours, 23);
        reg(rtc::kRegDay, 31);
        reg(rtc::kRegMonth, 12);
        reg(rtc::kRegYear, 99);
        reg(0x48, 20);  // century at a FADT-specified index
    }
    CmosRtc<FakeIo> rtc_dev(FakeIo(s), 0x48, Nmi::Disabled);
    Result<RtcTime> r = rtc_dev.read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), time_of(2099, 12, 31, 23, 59, 59, 4));
    EXPECT_EQ(rtc::unix_seconds(r.value()), 4102444799);
    EXPECT_TRUE(s.expected.empty());
}

TEST(CmosRtc, NmiBitClearByDefault)
{
    CmosModel m = qemu_like(kBcd24);
    m.set_time(0, 0, 0, 1, 1, 0, 0x20);
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    ASSERT_TRUE(rtc_dev.read().ok());
    ASSERT_FALSE(m.index_writes.empty());
    for (uint8_t w : m.index_writes)
        EXPECT_EQ(w & 0x80, 0);
}

TEST(CmosRtc, Binary12HourPm)
{
    CmosModel m = qemu_like(kBin12);
    m.set_time(8, 47, 9 | rtc::kHourPm, 25, 11, 26, 20);
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    Result<RtcTime> r = rtc_dev.read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().hour, 21);
    EXPECT_EQ(text(r.value()), "2026-11-25 21:47:08");
}

namespace {
// Decodes 2026-01-01 at the given hours byte; -1 on error.
int hour_of(uint8_t hour_byte, uint8_t status_b)
{
    bool binary = status_b & rtc::kStatusBBinary;
    RtcRaw raw { 0, 0, hour_byte, 1, 1, static_cast<uint8_t>(binary ? 26 : 0x26), 0x20 };
    Result<RtcTime> r = rtc::decode(raw, status_b);
    return r.ok() ? r.value().hour : -1;
}
}  // namespace

TEST(CmosRtc, TwelveHourEdges)
{
    // 12 AM is midnight, 12 PM noon, 1 AM 1, 11 PM 23; BCD and binary alike.
    EXPECT_EQ(hour_of(12, kBin12), 0);
    EXPECT_EQ(hour_of(12 | rtc::kHourPm, kBin12), 12);
    EXPECT_EQ(hour_of(1, kBin12), 1);
    EXPECT_EQ(hour_of(1 | rtc::kHourPm, kBin12), 13);
    EXPECT_EQ(hour_of(11, kBin12), 11);
    EXPECT_EQ(hour_of(11 | rtc::kHourPm, kBin12), 23);
    EXPECT_EQ(hour_of(0x12, kBcd12), 0);
    EXPECT_EQ(hour_of(0x12 | rtc::kHourPm, kBcd12), 12);
    EXPECT_EQ(hour_of(0x11 | rtc::kHourPm, kBcd12), 23);
    EXPECT_EQ(hour_of(0x09 | rtc::kHourPm, kBcd12), 21);
    // Hour 0 and 13 do not exist on a 12-hour clock.
    EXPECT_EQ(hour_of(0, kBin12), -1);
    EXPECT_EQ(hour_of(0 | rtc::kHourPm, kBin12), -1);
    EXPECT_EQ(hour_of(13, kBin12), -1);
    EXPECT_EQ(hour_of(0x13, kBcd12), -1);
    // In 24-hour mode bit 7 is not a PM flag: 0x80 + hour is nonsense.
    EXPECT_EQ(hour_of(0x85, kBcd24), -1);
    EXPECT_EQ(hour_of(0x23, kBcd24), 23);
    EXPECT_EQ(hour_of(0x00, kBcd24), 0);
}

TEST(CmosRtc, CenturyRegister)
{
    RtcRaw raw { 0, 0, 0, 1, 1, 0x99, 0x19 };
    EXPECT_EQ(rtc::decode(raw, kBcd24).value().year, 1999);
    raw.century = 0x21;
    raw.year = 0x05;
    EXPECT_EQ(rtc::decode(raw, kBcd24).value().year, 2105);
    // Missing or implausible century byte: assume 20xx.
    for (uint8_t c : { 0x00, 0x18, 0x22, 0x99, 0xFF, 0x2A }) {
        raw.century = c;
        EXPECT_EQ(rtc::decode(raw, kBcd24).value().year, 2005) << int(c);
    }
    // Binary mode reads the century byte as binary too.
    raw = { 0, 0, 0, 1, 1, 99, 19 };
    EXPECT_EQ(rtc::decode(raw, kBin24).value().year, 1999);
}

TEST(CmosRtc, NoCenturyRegisterIsNotRead)
{
    CmosModel m = qemu_like(kBcd24);
    m.set_time(0, 0, 0, 0x01, 0x03, 0x30, 0x19);
    CmosRtc<CmosIo> rtc_dev(CmosIo(m), 0);
    Result<RtcTime> r = rtc_dev.read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().year, 2030);
    for (uint8_t w : m.index_writes)
        EXPECT_NE(w, rtc::kRegCenturyDefault);
}

TEST(CmosRtc, WaitsForUpdateInProgressThenSucceeds)
{
    CmosModel m = qemu_like(kBcd24);
    m.set_time(0x30, 0x15, 0x10, 0x01, 0x01, 0x25, 0x20);
    m.uip_reads = 50;
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    Result<RtcTime> r = rtc_dev.read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(text(r.value()), "2025-01-01 10:15:30");
    // 50 busy reads (the presence read among them), one clear, one before the second snapshot.
    EXPECT_EQ(m.status_a_reads, 50 + 1 + 1);
}

TEST(CmosRtc, RereadsUntilTwoSnapshotsAgree)
{
    CmosModel m = qemu_like(kBin24);
    m.set_time(10, 0, 0, 1, 1, 25, 20);
    m.ticks_left = 2;  // the first two snapshots each see a new second
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    Result<RtcTime> r = rtc_dev.read();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().second, 12);
    EXPECT_EQ(m.snapshots, 3);
}

TEST(CmosRtc, NeverSettlingTimesOut)
{
    CmosModel m = qemu_like(kBin24);
    m.set_time(10, 0, 0, 1, 1, 25, 20);
    m.ticks_left = 1000;
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    EXPECT_EQ(rtc_dev.read().error(), Error::Timeout);
    EXPECT_EQ(m.snapshots, static_cast<int>(rtc::kMaxSnapshots));
}

TEST(CmosRtc, StuckUpdateInProgressTimesOutAfterBoundedPolls)
{
    CmosModel m = qemu_like(kBcd24);
    m.set_time(0, 0, 0, 1, 1, 0, 0x20);
    m.uip_forever = true;
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    EXPECT_EQ(rtc_dev.read().error(), Error::Timeout);
    EXPECT_EQ(m.status_a_reads, 1 + static_cast<int>(rtc::kUipPollLimit));
    EXPECT_EQ(m.snapshots, 0);
}

TEST(CmosRtc, AbsentWhenPortsFloat)
{
    IoScript s;
    s.fixed_reads[rtc::kDataPort] = 0xFF;
    s.strict = false;
    CmosRtc<FakeIo> rtc_dev { FakeIo(s) };
    EXPECT_EQ(rtc_dev.read().error(), Error::Absent);
    EXPECT_LE(s.seen.size(), 4u);  // status A and B, nothing else

    CmosModel m = qemu_like(0xFF);  // status B alone reading 0xFF
    CmosRtc<CmosIo> rtc2 { CmosIo(m) };
    EXPECT_EQ(rtc2.read().error(), Error::Absent);

    // Status A alone reading 0xFF (UIP "set" forever) is Absent too, at once.
    CmosModel m3 = qemu_like(kBcd24);
    m3.regs[rtc::kRegStatusA] = 0xFF;
    CmosRtc<CmosIo> rtc3 { CmosIo(m3) };
    EXPECT_EQ(rtc3.read().error(), Error::Absent);
    EXPECT_EQ(m3.status_a_reads, 1);
}

TEST(CmosRtc, CorruptValuesRejected)
{
    CmosModel m = qemu_like(kBcd24);
    m.set_time(0x00, 0x00, 0x00, 0x31, 0x02, 0x26, 0x20);  // 31 February
    CmosRtc<CmosIo> rtc_dev { CmosIo(m) };
    EXPECT_EQ(rtc_dev.read().error(), Error::Corrupt);

    const RtcRaw good { 0x59, 0x59, 0x23, 0x28, 0x02, 0x26, 0x20 };
    ASSERT_TRUE(rtc::decode(good, kBcd24).ok());
    auto bad = [&](auto mutate) {
        RtcRaw r = good;
        mutate(r);
        return rtc::decode(r, kBcd24).error();
    };
    EXPECT_EQ(bad([](RtcRaw& r) { r.second = 0x60; }), Error::Corrupt);
    EXPECT_EQ(bad([](RtcRaw& r) { r.second = 0x1A; }), Error::Corrupt);  // not a BCD digit
    EXPECT_EQ(bad([](RtcRaw& r) { r.minute = 0x60; }), Error::Corrupt);
    EXPECT_EQ(bad([](RtcRaw& r) { r.hour = 0x24; }), Error::Corrupt);
    EXPECT_EQ(bad([](RtcRaw& r) { r.day = 0x00; }), Error::Corrupt);
    EXPECT_EQ(bad([](RtcRaw& r) { r.day = 0x29; }), Error::Corrupt);  // 2026 is not leap
    EXPECT_EQ(bad([](RtcRaw& r) { r.month = 0x00; }), Error::Corrupt);
    EXPECT_EQ(bad([](RtcRaw& r) { r.month = 0x13; }), Error::Corrupt);
    EXPECT_EQ(bad([](RtcRaw& r) { r.month = 0x0C; }), Error::Corrupt);  // binary 12 in BCD mode
    EXPECT_EQ(bad([](RtcRaw& r) { r.year = 0xA0; }), Error::Corrupt);
    // Binary mode: values beyond range, e.g. day 32 or year 100.
    EXPECT_EQ(rtc::decode({ 0, 0, 0, 32, 1, 26, 20 }, kBin24).error(), Error::Corrupt);
    EXPECT_EQ(rtc::decode({ 0, 0, 0, 1, 1, 100, 20 }, kBin24).error(), Error::Corrupt);
}

TEST(CmosRtc, LeapDays)
{
    EXPECT_TRUE(rtc::decode({ 0, 0, 0, 0x29, 0x02, 0x00, 0x20 }, kBcd24).ok());   // 2000: /400
    EXPECT_TRUE(rtc::decode({ 0, 0, 0, 0x29, 0x02, 0x24, 0x20 }, kBcd24).ok());   // 2024
    EXPECT_FALSE(rtc::decode({ 0, 0, 0, 0x29, 0x02, 0x00, 0x21 }, kBcd24).ok());  // 2100: /100
    EXPECT_TRUE(rtc::decode({ 0, 0, 0, 0x31, 0x12, 0x26, 0x20 }, kBcd24).ok());
    EXPECT_FALSE(rtc::decode({ 0, 0, 0, 0x31, 0x04, 0x26, 0x20 }, kBcd24).ok());
}

// Expected values from Python: datetime(..., tzinfo=timezone.utc).timestamp().
TEST(CmosRtc, UnixSecondsKnownDates)
{
    EXPECT_EQ(rtc::unix_seconds(time_of(1970, 1, 1, 0, 0, 0, 4)), 0);
    EXPECT_EQ(rtc::unix_seconds(time_of(2000, 2, 29, 0, 0, 0, 2)), 951782400);
    EXPECT_EQ(rtc::unix_seconds(time_of(2026, 11, 25, 21, 47, 8, 3)), 1795643228);
    EXPECT_EQ(rtc::unix_seconds(time_of(2099, 12, 31, 23, 59, 59, 4)), 4102444799);
    EXPECT_EQ(rtc::unix_seconds(time_of(2100, 3, 1, 0, 0, 0, 1)), 4107542400);
    EXPECT_EQ(rtc::unix_seconds(time_of(1900, 1, 1, 0, 0, 0, 1)), -2208988800);
    EXPECT_EQ(rtc::days_from_civil(1969, 12, 31), -1);
    EXPECT_EQ(rtc::days_from_civil(2000, 3, 1), 11017);
}

TEST(CmosRtc, WeekdayFromDate)
{
    EXPECT_EQ(rtc::decode({ 0, 0, 0, 1, 1, 70, 19 }, kBin24).value().weekday, 4);   // Thu
    EXPECT_EQ(rtc::decode({ 0, 0, 0, 1, 1, 0, 19 }, kBin24).value().weekday, 1);    // 1900-01-01 Mon
    EXPECT_EQ(rtc::decode({ 0, 0, 0, 29, 2, 0, 20 }, kBin24).value().weekday, 2);   // Tue
    EXPECT_EQ(rtc::decode({ 0, 0, 0, 22, 11, 26, 20 }, kBin24).value().weekday, 0); // Sun
}

TEST(CmosRtc, FormatNeedsRoomForTextAndNul)
{
    RtcTime t = time_of(2005, 3, 7, 4, 5, 6, 1);
    char buf[rtc::kTextLength + 1];
    std::memset(buf, 'x', sizeof buf);
    EXPECT_EQ(rtc::format(t, buf, sizeof buf - 1), 0u);
    EXPECT_EQ(buf[0], 'x');
    EXPECT_EQ(rtc::format(t, nullptr, 64), 0u);
    EXPECT_EQ(rtc::format(t, buf, sizeof buf), rtc::kTextLength);
    EXPECT_STREQ(buf, "2005-03-07 04:05:06");
    EXPECT_EQ(text(time_of(1999, 12, 31, 23, 59, 59, 5)), "1999-12-31 23:59:59");
}

namespace exo {
namespace {

// from_unix inverts unix_seconds over every day from 1970 to past 2400
// (leap centuries included) and at the edges of each day.
TEST(RtcFromUnix, InvertsUnixSecondsEveryDay)
{
    for (int64_t day = 0; day < 160000; ++day) {
        for (int64_t s : { int64_t { 0 }, int64_t { 86399 } }) {
            int64_t t = day * 86400 + s;
            RtcTime got = rtc::from_unix(t);
            ASSERT_EQ(rtc::unix_seconds(got), t) << t;
            ASSERT_TRUE(got.month >= 1 && got.month <= 12 && got.day >= 1 && got.day <= 31) << t;
        }
    }
    RtcTime t = rtc::from_unix(951782400);  // 2000-02-29 00:00:00, a leap century
    EXPECT_EQ(t.year, 2000);
    EXPECT_EQ(t.month, 2);
    EXPECT_EQ(t.day, 29);
    t = rtc::from_unix(1796541915);
    EXPECT_EQ(t.year, 2026);
    EXPECT_EQ(t.month, 12);
    EXPECT_EQ(t.day, 6);
    EXPECT_EQ(t.hour, 7);
    EXPECT_EQ(t.minute, 25);
    EXPECT_EQ(t.second, 15);
}

}  // namespace
}  // namespace exo
