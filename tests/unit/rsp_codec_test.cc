#include "gdbstub/rsp_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/fake_target.h"

using exo::RspAckMode;
using exo::RspCodec;
using exo::RspEvent;
using exo::test::rsp_escape;
using exo::test::rsp_frame;
using exo::test::Wire;

namespace {

struct CodecTest : ::testing::Test {
    Wire wire;
    RspCodec codec { &Wire::write, &wire };
    std::vector<std::string> packets;  // bodies of Packet events
    std::vector<RspEvent> events;      // every non-None event

    void feed(const std::string& bytes)
    {
        for (unsigned char b : bytes) {
            RspEvent e = codec.feed(b);
            if (e == RspEvent::None)
                continue;
            events.push_back(e);
            if (e == RspEvent::Packet)
                packets.emplace_back(codec.packet(), codec.packet_length());
        }
    }

    void send(const std::string& body)
    {
        codec.begin_reply();
        for (char c : body)
            codec.put(c);
        codec.send_reply();
    }
};

// What gdb 13 sends first, with the checksum computed by the test.
const std::string kGdbHello =
    "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;"
    "exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+";

}  // namespace

TEST_F(CodecTest, FramesKnownChecksums)
{
    EXPECT_EQ(rsp_frame("OK"), "$OK#9a");  // the helper against a value from the GDB manual
    send("OK");
    EXPECT_EQ(wire.bytes, "$OK#9a");
    wire.bytes.clear();
    send("");
    EXPECT_EQ(wire.bytes, "$#00");
    EXPECT_EQ(codec.counters().packets_out, 2u);
}

TEST_F(CodecTest, ReceivesRecordedGdbHello)
{
    feed("+" + rsp_frame(kGdbHello));
    ASSERT_EQ(packets.size(), 1u);
    EXPECT_EQ(packets[0], kGdbHello);
    EXPECT_EQ(wire.bytes, "+");  // acknowledged
    EXPECT_EQ(codec.counters().packets_in, 1u);
    EXPECT_EQ(codec.counters().noise, 0u);  // the leading '+' is an ack, not noise
    EXPECT_EQ(codec.packet()[codec.packet_length()], '\0');
}

TEST_F(CodecTest, ChecksumDigitsAreCaseInsensitive)
{
    std::string framed = rsp_frame("OK");
    framed[framed.size() - 1] = 'A';  // "#9A"
    feed(framed);
    EXPECT_EQ(packets.size(), 1u);
}

TEST_F(CodecTest, BadChecksumIsNakedAndNotDelivered)
{
    std::string framed = rsp_frame("g");
    framed.back() = framed.back() == '0' ? '1' : '0';
    feed(framed);
    EXPECT_TRUE(packets.empty());
    EXPECT_EQ(wire.bytes, "-");
    EXPECT_EQ(codec.counters().bad_checksums, 1u);
    // gdb retransmits; the good copy goes through.
    feed(rsp_frame("g"));
    EXPECT_EQ(packets, std::vector<std::string> { "g" });
    EXPECT_EQ(wire.bytes, "-+");
}

TEST_F(CodecTest, NonHexChecksumIsBad)
{
    feed("$g#zz");
    feed("$g#6z");
    EXPECT_TRUE(packets.empty());
    EXPECT_EQ(codec.counters().bad_checksums, 2u);
    EXPECT_EQ(wire.bytes, "--");
}

TEST_F(CodecTest, DollarInsidePacketResynchronizes)
{
    feed("$qSupp" + rsp_frame("g"));
    EXPECT_EQ(packets, std::vector<std::string> { "g" });
    // Also while waiting for the checksum digits.
    feed("$m0,4#" + rsp_frame("?"));
    feed("$m0,4#1" + rsp_frame("c"));
    EXPECT_EQ(packets, (std::vector<std::string> { "g", "?", "c" }));
    EXPECT_EQ(codec.counters().resyncs, 3u);
    EXPECT_EQ(codec.counters().bad_checksums, 0u);
}

TEST_F(CodecTest, DecodesEscapes)
{
    const std::string data = std::string("a#b$c}d*e") + '\x03' + "f";
    std::string framed = rsp_frame("X0,0:" + rsp_escape(data));
    EXPECT_NE(framed.find("}\x03"), std::string::npos);  // '#' escaped
    feed(framed);
    ASSERT_EQ(packets.size(), 1u);
    EXPECT_EQ(packets[0], "X0,0:" + data);
    EXPECT_EQ(codec.counters().interrupts, 0u);  // 0x03 inside a packet is data
}

TEST_F(CodecTest, EncodesEscapes)
{
    const std::string body = "l<a>#$}*z";
    send(body);
    // Checksum covers the escaped bytes.
    EXPECT_EQ(wire.bytes, rsp_frame(rsp_escape(body)));
    EXPECT_EQ(wire.bytes.substr(0, 13), "$l<a>}\x03}\x04}]}\x0a");
    auto items = wire.take();
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0], "$" + body);
}

TEST_F(CodecTest, OversizedPacketGetsAnEventAfterItsEndAndStaysInSync)
{
    std::string big(exo::kRspPacketSize + 10, 'a');
    feed(rsp_frame("M0,1:" + big));
    EXPECT_TRUE(packets.empty());
    EXPECT_EQ(events, std::vector<RspEvent> { RspEvent::Oversized });
    EXPECT_EQ(codec.counters().oversized, 1u);
    EXPECT_EQ(wire.bytes, "+");  // the checksum was good
    feed(rsp_frame("?"));
    EXPECT_EQ(packets, std::vector<std::string> { "?" });
    // Exactly the buffer size still fits.
    feed(rsp_frame(std::string(exo::kRspPacketSize, 'b')));
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_EQ(packets[1].size(), exo::kRspPacketSize);
}

TEST_F(CodecTest, OversizedWithBadChecksumIsJustNaked)
{
    std::string framed = rsp_frame(std::string(exo::kRspPacketSize + 1, 'a'));
    framed.back() ^= 1;
    feed(framed);
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(wire.bytes, "-");
}

TEST_F(CodecTest, NoiseOutsidePacketsIsIgnored)
{
    std::string noise;
    for (int i = 0; i < 256; ++i) {
        if (i != '$' && i != '+' && i != '-' && i != 3)
            noise += static_cast<char>(i);
    }
    feed(noise + "#9a" + rsp_frame("g") + noise);
    EXPECT_EQ(packets, std::vector<std::string> { "g" });
    EXPECT_EQ(codec.counters().noise, 2 * (256 - 4) + 3);
    EXPECT_EQ(wire.bytes, "+");
}

TEST_F(CodecTest, CtrlCOutsidePacketIsAnInterrupt)
{
    feed("\x03");
    EXPECT_EQ(events, std::vector<RspEvent> { RspEvent::Interrupt });
    EXPECT_EQ(codec.counters().interrupts, 1u);
    EXPECT_TRUE(wire.bytes.empty());  // not acknowledged
}

TEST_F(CodecTest, NoAckModeStartsAfterTheOkIsAcked)
{
    feed(rsp_frame("QStartNoAckMode"));
    send("OK");
    codec.request_no_ack();
    EXPECT_EQ(codec.ack_mode(), RspAckMode::On);  // still waiting for gdb's '+'
    feed("+");
    EXPECT_EQ(codec.ack_mode(), RspAckMode::Off);
    wire.bytes.clear();

    feed(rsp_frame("g"));
    std::string bad = rsp_frame("m0,1");
    bad.back() ^= 1;
    feed(bad);
    EXPECT_EQ(packets.size(), 2u);
    EXPECT_TRUE(wire.bytes.empty());  // neither '+' nor '-'
    EXPECT_EQ(codec.counters().bad_checksums, 1u);

    send("OK");
    wire.bytes.clear();
    feed("-");  // no retransmission without acks
    EXPECT_TRUE(wire.bytes.empty());
    EXPECT_EQ(codec.counters().retransmits, 0u);
}

TEST_F(CodecTest, PlusInNoAckModeMeansANewGdb)
{
    send("OK");
    codec.request_no_ack();
    feed("+");
    ASSERT_EQ(codec.ack_mode(), RspAckMode::Off);
    feed("+" + rsp_frame(kGdbHello));  // a fresh session opens with '+'
    EXPECT_EQ(codec.ack_mode(), RspAckMode::On);
    EXPECT_EQ(wire.bytes.back(), '+');
}

TEST_F(CodecTest, RetransmitsOnNakUpToALimit)
{
    send("T05thread:1;");
    const std::string framed = wire.bytes;
    wire.bytes.clear();
    for (int i = 0; i < exo::kRspMaxRetransmits; ++i) {
        feed("-");
        EXPECT_EQ(wire.bytes, framed);
        wire.bytes.clear();
    }
    feed("-");
    EXPECT_TRUE(wire.bytes.empty());
    EXPECT_EQ(codec.counters().retransmits, exo::kRspMaxRetransmits);
    EXPECT_EQ(codec.counters().gave_up, 1u);
    EXPECT_EQ(codec.counters().packets_out, 1u);
}

TEST_F(CodecTest, AckEndsRetransmission)
{
    send("OK");
    wire.bytes.clear();
    feed("-");
    EXPECT_EQ(wire.bytes, "$OK#9a");
    feed("+");
    wire.bytes.clear();
    feed("-");  // nothing outstanding
    EXPECT_TRUE(wire.bytes.empty());
    EXPECT_EQ(codec.counters().noise, 1u);
    // A new reply gets a fresh retry budget.
    send("E01");
    wire.bytes.clear();
    for (int i = 0; i < exo::kRspMaxRetransmits; ++i)
        feed("-");
    EXPECT_EQ(wire.bytes.size(), 3 * rsp_frame("E01").size());
}

TEST_F(CodecTest, ReplyBuilderHelpersAndTruncation)
{
    codec.begin_reply();
    codec.put_number(0);
    codec.put(',');
    codec.put_number(0xffffffff80100000ull);
    codec.put(',');
    codec.put_le(0x0102030405060708ull, 8);
    codec.put(',');
    codec.put_le(0x246, 4);
    EXPECT_EQ(std::string(codec.reply_end() - codec.reply_length(), codec.reply_length()),
              "0,ffffffff80100000,0807060504030201,46020000");
    EXPECT_FALSE(codec.reply_truncated());
    codec.begin_reply();
    for (size_t i = 0; i < exo::kRspPacketSize + 5; ++i)
        codec.put('a');
    EXPECT_TRUE(codec.reply_truncated());
    EXPECT_EQ(codec.reply_length(), exo::kRspPacketSize);
    EXPECT_EQ(codec.reply_room(), 0u);
    codec.begin_reply();
    EXPECT_FALSE(codec.reply_truncated());
}
