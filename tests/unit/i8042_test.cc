#include "kernel/drivers/i8042/i8042.h"

#include "tests/unit/fake_io.h"

using namespace exo;
using namespace exo::test;

namespace {

constexpr uint16_t kData = 0x60;
constexpr uint16_t kStatus = 0x64;

// One controller write: status poll says "input buffer empty", then the byte.
void send(IoScript& s, uint16_t port, uint8_t value)
{
    s.expected.push_back(in(kStatus, 0x00));
    s.expected.push_back(out(port, value));
}

// One controller read: status poll says "output buffer full", then the byte.
void answer(IoScript& s, uint8_t value)
{
    s.expected.push_back(in(kStatus, 0x01));
    s.expected.push_back(in(kData, value));
}

// Everything up to and including the self-test command.
void script_until_self_test(IoScript& s, uint8_t firmware_config)
{
    s.expected.push_back(in(kStatus, 0x1C));  // presence: anything but 0xFF
    send(s, kStatus, 0xAD);                   // disable port 1
    send(s, kStatus, 0xA7);                   // disable port 2
    s.expected.push_back(in(kStatus, 0x1C));  // flush: output buffer empty
    send(s, kStatus, 0x20);                   // read config
    answer(s, firmware_config);
    send(s, kStatus, 0xAA);                   // controller self-test
}

size_t writes(const IoScript& s)
{
    size_t n = 0;
    for (const PortAccess& a : s.seen)
        n += a.dir == PortAccess::Dir::Out;
    return n;
}

}  // namespace

TEST(I8042, InitSequenceExactBytes)
{
    IoScript s;
    // Firmware left IRQs 1/12 on and both clocks off; translation is kept.
    script_until_self_test(s, 0x73);
    answer(s, 0x55);
    send(s, kStatus, 0xAB);  // test port 1
    answer(s, 0x00);
    send(s, kStatus, 0x60);  // write config: IRQs off, port 1 clock on, translate
    send(s, kData, 0x60);
    send(s, kStatus, 0xAE);  // enable port 1
    send(s, kStatus, 0x60);  // finally IRQ 1 on
    send(s, kData, 0x61);
    I8042<FakeIo> kbd(FakeIo { s });
    Result<void> r = kbd.init();
    ASSERT_TRUE(r.ok()) << error_name(r.error());
    EXPECT_TRUE(kbd.ready());
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, TranslationForcedOnAndStaleBytesFlushed)
{
    IoScript s;
    s.expected = {
        in(kStatus, 0x00),
        in(kStatus, 0x00), out(kStatus, 0xAD),
        in(kStatus, 0x00), out(kStatus, 0xA7),
        in(kStatus, 0x01), in(kData, 0x1E),  // a key pressed during boot
        in(kStatus, 0x01), in(kData, 0x9E),
        in(kStatus, 0x00),
    };
    send(s, kStatus, 0x20);
    answer(s, 0x00);  // translation off in the firmware's config
    send(s, kStatus, 0xAA);
    answer(s, 0x55);
    send(s, kStatus, 0xAB);
    answer(s, 0x00);
    send(s, kStatus, 0x60);
    send(s, kData, 0x40);
    send(s, kStatus, 0xAE);
    send(s, kStatus, 0x60);
    send(s, kData, 0x41);
    I8042<FakeIo> kbd(FakeIo { s });
    ASSERT_TRUE(kbd.init().ok());
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, KeyboardResetWaitsForAckAndSelfTest)
{
    IoScript s;
    script_until_self_test(s, 0x61);  // port 2 clock off stays off
    answer(s, 0x55);
    send(s, kStatus, 0xAB);
    answer(s, 0x00);
    send(s, kStatus, 0x60);
    send(s, kData, 0x60);
    send(s, kStatus, 0xAE);
    send(s, kData, 0xFF);  // keyboard reset, while IRQs are still off
    s.expected.push_back(in(kStatus, 0x00));  // not yet
    answer(s, 0xFA);
    answer(s, 0xAA);
    send(s, kStatus, 0x60);
    send(s, kData, 0x61);
    I8042<FakeIo> kbd(FakeIo { s });
    ASSERT_TRUE(kbd.init(KeyboardReset::Reset).ok());
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, ResetWithoutKeyboardIsAbsent)
{
    IoScript s;
    script_until_self_test(s, 0x61);
    answer(s, 0x55);
    send(s, kStatus, 0xAB);
    answer(s, 0x00);
    send(s, kStatus, 0x60);
    send(s, kData, 0x60);
    send(s, kStatus, 0xAE);
    send(s, kData, 0xFF);
    for (uint32_t i = 0; i < i8042::kSpinLimit; ++i)
        s.expected.push_back(in(kStatus, 0x00));  // nothing ever answers
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init(KeyboardReset::Reset).error(), Error::Absent);
    EXPECT_FALSE(kbd.ready());
    EXPECT_TRUE(s.expected.empty());  // and IRQ 1 was never enabled
}

TEST(I8042, BadKeyboardResetAnswerIsCorrupt)
{
    IoScript s;
    script_until_self_test(s, 0x61);
    answer(s, 0x55);
    send(s, kStatus, 0xAB);
    answer(s, 0x00);
    send(s, kStatus, 0x60);
    send(s, kData, 0x60);
    send(s, kStatus, 0xAE);
    send(s, kData, 0xFF);
    answer(s, 0xFA);
    answer(s, 0xFC);  // basic assurance test failed
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init(KeyboardReset::Reset).error(), Error::Corrupt);
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, SelfTestFailureStopsBeforeConfigWrite)
{
    IoScript s;
    script_until_self_test(s, 0x61);
    answer(s, 0xFC);
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init().error(), Error::Corrupt);
    EXPECT_FALSE(kbd.ready());
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, PortTestFailureIsAnError)
{
    IoScript s;
    script_until_self_test(s, 0x61);
    answer(s, 0x55);
    send(s, kStatus, 0xAB);
    answer(s, 0x01);  // clock line stuck low
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init().error(), Error::Corrupt);
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, AbsentControllerDetectedWithOneRead)
{
    IoScript s;
    s.fixed_reads[kStatus] = 0xFF;  // floating bus, as on QEMU microvm
    s.fixed_reads[kData] = 0xFF;
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init().error(), Error::Absent);
    EXPECT_EQ(s.seen.size(), 1u);
    EXPECT_FALSE(kbd.ready());
}

TEST(I8042, StuckInputBufferTimesOutBounded)
{
    IoScript s;
    s.fixed_reads[kStatus] = 0x02;  // never takes a command
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init().error(), Error::Timeout);
    EXPECT_EQ(s.seen.size(), 1u + i8042::kSpinLimit);
    EXPECT_EQ(writes(s), 0u);
}

TEST(I8042, SilentSelfTestTimesOutBounded)
{
    IoScript s;
    script_until_self_test(s, 0x61);
    for (uint32_t i = 0; i < i8042::kSpinLimit; ++i)
        s.expected.push_back(in(kStatus, 0x00));
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init().error(), Error::Timeout);
    EXPECT_TRUE(s.expected.empty());
}

TEST(I8042, BabblingOutputBufferFlushIsBounded)
{
    IoScript s;
    s.strict = false;
    s.fixed_reads[kStatus] = 0x01;  // always a byte waiting
    s.fixed_reads[kData] = 0xAB;
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.init().error(), Error::Corrupt);  // self-test reads 0xAB
    size_t data_reads = 0;
    for (const PortAccess& a : s.seen)
        data_reads += a.dir == PortAccess::Dir::In && a.port == kData;
    EXPECT_EQ(data_reads, i8042::kFlushLimit + 2);  // flush, config, self-test answer
}

TEST(I8042, ReadDataIsNonBlocking)
{
    IoScript s;
    s.expected = { in(kStatus, 0x1C), in(kStatus, 0x1D), in(kData, 0x2E) };
    I8042<FakeIo> kbd(FakeIo { s });
    EXPECT_EQ(kbd.read_data().error(), Error::NotFound);
    Result<uint8_t> b = kbd.read_data();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.value(), 0x2E);
    EXPECT_TRUE(s.expected.empty());
}
