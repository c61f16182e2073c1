#include "gdbstub/stub.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gdbstub/target_xml.h"
#include "tests/unit/fake_target.h"

using namespace exo;
using exo::test::FakeTarget;
using exo::test::from_hex;
using exo::test::kFakeMemoryBase;
using exo::test::rsp_escape;
using exo::test::rsp_frame;
using exo::test::to_hex;
using exo::test::Wire;

namespace exo {
EXO_BIND_GDB_TARGET(test::FakeTarget)
}  // namespace exo

namespace {

std::string le_hex(uint64_t value, size_t bytes)
{
    std::string out;
    char buf[3];
    for (size_t i = 0; i < bytes; ++i, value >>= 8) {
        snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned>(value & 0xFF));
        out += buf;
    }
    return out;
}

void append_char(void* text, char c) { static_cast<std::string*>(text)->push_back(c); }

std::string number_hex(uint64_t value)
{
    char buf[17];
    snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(value));
    return buf;
}

constexpr uint8_t kVectorDebug = 1;
constexpr uint8_t kVectorBreakpoint = 3;
constexpr uint8_t kVectorPageFault = 14;
constexpr uint64_t kDr6SingleStep = 1u << 14;

struct StubTest : ::testing::Test {
    FakeTarget target;
    Wire wire;
    GdbStub stub { target, &Wire::write, &wire };
    std::vector<std::string> acks;  // '+'/'-' the stub sent with the last exchange

    void SetUp() override
    {
        // The kernel stopped for gdb (gdb=wait), thread 1 running.
        EXPECT_EQ(stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 }), GdbAction::None);
        EXPECT_TRUE(wire.bytes.empty());  // nobody asked for a stop reply
    }

    GdbAction feed(const std::string& bytes)
    {
        GdbAction result = GdbAction::None;
        for (unsigned char b : bytes) {
            GdbAction a = stub.feed(b);
            if (a != GdbAction::None)
                result = a;
        }
        return result;
    }

    // Everything the stub wrote since the last call, acks split off.
    std::vector<std::string> replies()
    {
        std::vector<std::string> bodies;
        acks.clear();
        for (const std::string& item : wire.take()) {
            if (item[0] == '$')
                bodies.push_back(item.substr(1));
            else
                acks.push_back(item);
        }
        return bodies;
    }

    // One packet in, exactly one reply out (acknowledged in ack mode).
    std::string ask(const std::string& body, GdbAction expected = GdbAction::None)
    {
        EXPECT_EQ(feed(rsp_frame(body)), expected) << body;
        std::vector<std::string> r = replies();
        if (stub.ack_mode() == RspAckMode::On) {
            EXPECT_EQ(acks, std::vector<std::string> { "+" }) << body;
        }
        EXPECT_EQ(r.size(), 1u) << body;
        return r.empty() ? "<no reply>" : r[0];
    }

    std::string stop_reply(uint8_t signal, ThreadId thread, const std::string& reason = "")
    {
        char head[4];
        snprintf(head, sizeof(head), "T%02x", signal);
        return std::string(head) + "thread:" + number_hex(thread) + ";06:"
            + le_hex(target.reg(thread, GdbRegister::Rbp), 8) + ";07:" + le_hex(target.reg(thread, GdbRegister::Rsp), 8)
            + ";10:" + le_hex(target.reg(thread, GdbRegister::Rip), 8) + ";" + reason;
    }

    std::string expected_g(ThreadId thread)
    {
        std::string out;
        for (size_t i = 0; i < kGdbRegisterCount; ++i) {
            auto reg = static_cast<GdbRegister>(i);
            size_t size = register_size(reg);
            bool saved_only = thread == FakeTarget::kBlockedThread && reg != GdbRegister::Rbx
                && reg != GdbRegister::Rbp && reg != GdbRegister::Rsp && reg != GdbRegister::Rip;
            if (is_x87_register(reg) || saved_only)
                out += std::string(2 * size, 'x');
            else
                out += le_hex(target.reg(thread, reg), size);
        }
        return out;
    }
};

}  // namespace

// ---- Construction ----------------------------------------------------------------

namespace {
constinit GdbStub g_unbound_stub;  // what the kernel declares
}  // namespace

TEST(GdbStubGlobal, ConstinitInstanceIsAllZeroSoItLivesInBss)
{
    static const unsigned char zeros[sizeof(GdbStub)] = {};
    EXPECT_EQ(memcmp(&g_unbound_stub, zeros, sizeof(GdbStub)), 0);
    FakeTarget target;
    Wire wire;
    g_unbound_stub.bind(target, &Wire::write, &wire);
    EXPECT_TRUE(g_unbound_stub.running());
    EXPECT_EQ(g_unbound_stub.feed('$'), GdbAction::None);
    for (char c : std::string("?#3f"))
        (void)g_unbound_stub.feed(static_cast<uint8_t>(c));
    EXPECT_EQ(wire.bytes, "+");  // acked; answered once the kernel stops
    EXPECT_EQ(g_unbound_stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 }), GdbAction::None);
    EXPECT_EQ(wire.bytes.substr(0, 17), "+$T05thread:1;06:");
    g_unbound_stub = GdbStub();  // drop the pointer to this test's target
}

// ---- Registers -----------------------------------------------------------------

TEST(GdbRegisters, LayoutMatchesGdbAmd64Numbering)
{
    EXPECT_EQ(static_cast<int>(GdbRegister::Rbp), 6);
    EXPECT_EQ(static_cast<int>(GdbRegister::Rsp), 7);
    EXPECT_EQ(static_cast<int>(GdbRegister::Rip), 16);
    EXPECT_EQ(static_cast<int>(GdbRegister::Eflags), 17);
    EXPECT_EQ(static_cast<int>(GdbRegister::St0), 24);
    EXPECT_EQ(static_cast<int>(GdbRegister::Fop), 39);
    EXPECT_EQ(static_cast<int>(GdbRegister::FsBase), 40);
    EXPECT_EQ(static_cast<int>(GdbRegister::Efer), 46);
    EXPECT_EQ(static_cast<int>(GdbRegister::Cr8), 47);  // added after efer: earlier numbers unchanged
    EXPECT_EQ(static_cast<int>(GdbRegister::Dr7), 54);
    EXPECT_EQ(kGdbRegisterCount, 55u);
    EXPECT_EQ(register_offset(GdbRegister::Rip), 128u);
    EXPECT_EQ(register_offset(GdbRegister::St0), 164u);
    EXPECT_EQ(register_offset(GdbRegister::FsBase), 276u);
    EXPECT_EQ(kGdbRegisterBytes, 396u);
}

TEST_F(StubTest, GReadsAllRegistersInOrderWithX87Unavailable)
{
    std::string g = ask("g");
    EXPECT_EQ(g.size(), 2 * kGdbRegisterBytes);
    EXPECT_EQ(g, expected_g(1));
    EXPECT_EQ(g.substr(2 * register_offset(GdbRegister::Eflags), 8), "46020000");
    EXPECT_EQ(g.substr(2 * register_offset(GdbRegister::St0), 20), std::string(20, 'x'));
}

TEST_F(StubTest, GRoundTripsThroughCapitalG)
{
    std::string g = ask("g");
    // Change rax and cr3 in the image, keep everything else (x87 'x' included).
    std::string rax = le_hex(0xdeadbeefcafef00dull, 8);
    std::string cr3 = le_hex(0x1234000, 8);
    g.replace(0, 16, rax);
    g.replace(2 * register_offset(GdbRegister::Cr3), 16, cr3);
    EXPECT_EQ(ask("G" + g), "OK");
    EXPECT_EQ(target.reg(1, GdbRegister::Rax), 0xdeadbeefcafef00dull);
    EXPECT_EQ(target.reg(1, GdbRegister::Cr3), 0x1234000u);
    EXPECT_EQ(ask("g"), g);
}

TEST_F(StubTest, GWithWrongLengthOrBadHexIsRefused)
{
    std::string g = ask("g");
    EXPECT_EQ(ask("G" + g.substr(2)), "E01");
    std::string bad = g;
    bad[3] = 'q';
    EXPECT_EQ(ask("G" + bad), "E01");
    target.refuse_cr0 = true;
    EXPECT_EQ(ask("G" + g), "OK");  // cr0 unchanged: not written, so not refused
}

TEST_F(StubTest, GIsAllOrNothing)
{
    std::string g = ask("g");
    uint64_t rax = target.reg(1, GdbRegister::Rax);
    uint64_t cr0 = target.reg(1, GdbRegister::Cr0);
    g.replace(0, 16, le_hex(0x1122334455667788ull, 8));
    g.replace(2 * register_offset(GdbRegister::Cr0), 16, le_hex(cr0 ^ 1, 8));
    target.refuse_cr0 = true;
    EXPECT_EQ(ask("G" + g), "E01");
    EXPECT_EQ(target.reg(1, GdbRegister::Rax), rax);  // nothing changed
    EXPECT_EQ(target.reg(1, GdbRegister::Cr0), cr0);
    target.refuse_cr0 = false;
    EXPECT_EQ(ask("G" + g), "OK");
    EXPECT_EQ(target.reg(1, GdbRegister::Rax), 0x1122334455667788ull);
    EXPECT_EQ(target.reg(1, GdbRegister::Cr0), cr0 ^ 1);
}

TEST_F(StubTest, PReadsAndCapitalPWritesOneRegister)
{
    EXPECT_EQ(ask("p10"), le_hex(target.reg(1, GdbRegister::Rip), 8));
    EXPECT_EQ(ask("p11"), "46020000");                  // eflags is 32 bits
    EXPECT_EQ(ask("p18"), std::string(20, 'x'));        // st0
    EXPECT_EQ(ask("p2a"), le_hex(target.reg(1, GdbRegister::Cr0), 8));
    EXPECT_EQ(ask("P0=0807060504030201"), "OK");
    EXPECT_EQ(target.reg(1, GdbRegister::Rax), 0x0102030405060708ull);
    EXPECT_EQ(ask("P11=02030000"), "OK");
    EXPECT_EQ(target.reg(1, GdbRegister::Eflags), 0x302u);
    EXPECT_EQ(ask("p0"), "0807060504030201");
}

TEST_F(StubTest, PRejectsBadRegisterNumbersAndValues)
{
    EXPECT_EQ(ask("p37"), "E01");   // 55: one past dr7
    EXPECT_EQ(ask("p"), "E01");
    EXPECT_EQ(ask("pzz"), "E01");
    EXPECT_EQ(ask("p10,"), "E01");
    EXPECT_EQ(ask("P37=00"), "E01");
    EXPECT_EQ(ask("P18=00000000000000000000"), "E01");  // x87 is not writable
    EXPECT_EQ(ask("P0=0102"), "E01");                   // too short
    EXPECT_EQ(ask("P0=080706050403020100"), "E01");     // too long
    EXPECT_EQ(ask("P0"), "E01");
    EXPECT_EQ(target.register_writes, 0);
}

// ---- Memory ------------------------------------------------------------------

TEST_F(StubTest, MReadsMemory)
{
    std::string expected;
    for (int i = 0; i < 8; ++i)
        expected += static_cast<char>(target.memory[0x10 + i]);
    EXPECT_EQ(ask("m" + number_hex(kFakeMemoryBase + 0x10) + ",8"), to_hex(expected));
    EXPECT_EQ(ask("m" + number_hex(kFakeMemoryBase) + ",0"), "");
}

TEST_F(StubTest, MOnUnmappedMemoryIsE14)
{
    EXPECT_EQ(ask("m0,8"), "E14");
    EXPECT_EQ(ask("m" + number_hex(kFakeMemoryBase - 1) + ",8"), "E14");
}

TEST_F(StubTest, MReturnsTheReadablePrefix)
{
    uint64_t near_end = kFakeMemoryBase + exo::test::kFakeMemorySize - 3;
    std::string r = ask("m" + number_hex(near_end) + ",10");
    EXPECT_EQ(r.size(), 6u);
    EXPECT_EQ(from_hex(r)[0], static_cast<char>(target.memory[exo::test::kFakeMemorySize - 3]));
}

TEST_F(StubTest, MIsClampedToOnePacket)
{
    std::string r = ask("m" + number_hex(kFakeMemoryBase) + ",2800");
    EXPECT_EQ(r.size(), kRspPacketSize);
    EXPECT_EQ(from_hex(r), std::string(target.memory.begin(), target.memory.begin() + kRspPacketSize / 2));
}

TEST_F(StubTest, MMalformed)
{
    EXPECT_EQ(ask("m"), "E01");
    EXPECT_EQ(ask("mzz,4"), "E01");
    EXPECT_EQ(ask("m10"), "E01");
    EXPECT_EQ(ask("m10,"), "E01");
    EXPECT_EQ(ask("m10,4x"), "E01");
    EXPECT_EQ(ask("m11112222333344445,4"), "E01");  // more than 64 bits
}

TEST_F(StubTest, CapitalMWritesHex)
{
    uint64_t a = kFakeMemoryBase + 0x20;
    EXPECT_EQ(ask("M" + number_hex(a) + ",3:a1b2c3"), "OK");
    EXPECT_EQ(target.memory[0x20], 0xa1);
    EXPECT_EQ(target.memory[0x22], 0xc3);
    EXPECT_EQ(ask("M" + number_hex(a) + ",3:a1b2"), "E01");    // length mismatch
    EXPECT_EQ(ask("M" + number_hex(a) + ",2:a1bz"), "E01");    // not hex
    EXPECT_EQ(ask("M" + number_hex(a) + ",1:a"), "E01");       // odd digits
    EXPECT_EQ(ask("M10,1:00"), "E14");
}

TEST_F(StubTest, XWritesEscapedBinary)
{
    const std::string data = std::string("#$}*\x03\x00\xff", 7);
    uint64_t a = kFakeMemoryBase + 0x40;
    EXPECT_EQ(ask("X" + number_hex(a) + ",7:" + rsp_escape(data)), "OK");
    EXPECT_EQ(std::string(target.memory.begin() + 0x40, target.memory.begin() + 0x47), data);
    EXPECT_EQ(ask("X" + number_hex(a) + ",0:"), "OK");  // gdb's probe
    EXPECT_EQ(ask("X" + number_hex(a) + ",8:" + rsp_escape(data)), "E01");
    EXPECT_EQ(ask("X0,1:a"), "E14");
    // A write running off the end is a fault, not a silent partial write.
    uint64_t end = kFakeMemoryBase + exo::test::kFakeMemorySize - 1;
    EXPECT_EQ(ask("X" + number_hex(end) + ",2:ab"), "E14");
}

// ---- Breakpoints -------------------------------------------------------------

TEST_F(StubTest, SoftwareBreakpointsAreInMemoryOnlyWhileRunning)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    uint64_t b = kFakeMemoryBase + 0x180;
    uint8_t original = target.byte_at(a);
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(ask("Z0," + number_hex(b) + ",1"), "OK");
    EXPECT_EQ(target.byte_at(a), original);  // stopped: nothing the stub runs can hit it
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");  // again: no double save
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    stub.plant_breakpoints(0);
    EXPECT_EQ(target.byte_at(a), 0xCC);
    EXPECT_EQ(target.byte_at(b), 0xCC);
    (void)stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 });
    replies();
    EXPECT_EQ(target.byte_at(a), original);  // lifted by the stop itself
    // A step from a breakpoint's address runs the real instruction there.
    EXPECT_EQ(feed(rsp_frame("s")), GdbAction::Step);
    stub.plant_breakpoints(a);
    EXPECT_EQ(target.byte_at(a), original);
    EXPECT_EQ(target.byte_at(b), 0xCC);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    replies();
    EXPECT_EQ(ask("z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    stub.plant_breakpoints(0);
    EXPECT_EQ(target.byte_at(a), original);  // removed: never planted again
    EXPECT_EQ(target.byte_at(b), 0xCC);
    (void)stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 });
    replies();
    EXPECT_EQ(ask("z0," + number_hex(a) + ",1"), "E01");  // not inserted
    EXPECT_EQ(ask("Z0,10,1"), "E14");                     // unmapped
    EXPECT_EQ(ask("Z0,zz,1"), "E01");
    EXPECT_EQ(ask("Z0," + number_hex(a)), "E01");
}

// Found by tests/fuzz/gdb_stub_fuzz (corpus regress_write_under_breakpoint):
// the byte saved at Z0 was put back at the next stop, undoing gdb's write.
TEST_F(StubTest, MemoryWrittenUnderABreakpointSurvivesTheNextStop)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(ask("M" + number_hex(a) + ",1:90"), "OK");  // gdb patches the instruction
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    stub.plant_breakpoints(0);
    EXPECT_EQ(target.byte_at(a), 0xCC);
    (void)stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 });
    replies();
    EXPECT_EQ(target.byte_at(a), 0x90);  // the patch, not the byte from before it
    // Also when a step starts there (its breakpoint is not planted).
    EXPECT_EQ(ask("M" + number_hex(a) + ",1:c3"), "OK");
    EXPECT_EQ(feed(rsp_frame("s")), GdbAction::Step);
    stub.plant_breakpoints(a);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    replies();
    EXPECT_EQ(target.byte_at(a), 0xC3);
}

TEST_F(StubTest, BreakpointsOnTheDebuggersOwnPathAreRefused)
{
    uint64_t inside = target.nobreak_begin + 0x10;
    EXPECT_EQ(ask("Z0," + number_hex(inside) + ",1"), "E0d");
    EXPECT_EQ(ask("Z1," + number_hex(inside) + ",1"), "E0d");
    EXPECT_EQ(stub.breakpoint_count(), 0u);
    EXPECT_EQ(ask("Z0," + number_hex(target.nobreak_end) + ",1"), "OK");  // just past it
}

TEST_F(StubTest, WatchpointsOnTheDebuggersOwnPathAreRefused)
{
    // Found by tests/fuzz/live_fuzz.py: a watchpoint on the NMI's stack
    // stopped inside the NMI. Either end of the range counts.
    uint64_t inside = target.nobreak_begin + 0x10;
    EXPECT_EQ(ask("Z2," + number_hex(inside) + ",8"), "E0d");
    EXPECT_EQ(ask("Z4," + number_hex(target.nobreak_begin - 4) + ",8"), "E0d");
    EXPECT_EQ(ask("Z4," + number_hex(target.nobreak_end - 1) + ",1"), "E0d");
    EXPECT_EQ(target.debug.dr7, 0u);
    EXPECT_EQ(ask("Z2," + number_hex(target.nobreak_end) + ",8"), "OK");   // just past it
    EXPECT_EQ(ask("z2," + number_hex(target.nobreak_end) + ",8"), "OK");
    EXPECT_EQ(ask("z4," + number_hex(inside) + ",8"), "E01");             // never set
}

TEST_F(StubTest, BreakpointHitInsideTheDebuggerIsForgotten)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    uint8_t original = target.byte_at(a);
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    stub.plant_breakpoints(0);
    // What the kernel does on a #BP while the stub handles a trap.
    stub.lift_breakpoints();
    EXPECT_TRUE(stub.forget_breakpoint(a));
    EXPECT_FALSE(stub.forget_breakpoint(a));
    EXPECT_EQ(target.byte_at(a), original);
    stub.plant_breakpoints(0);
    EXPECT_EQ(target.byte_at(a), original);
    EXPECT_EQ(stub.breakpoint_count(), 0u);
}

TEST_F(StubTest, SoftwareBreakpointTableIsBounded)
{
    for (size_t i = 0; i < kGdbMaxSwBreakpoints; ++i)
        ASSERT_EQ(ask("Z0," + number_hex(kFakeMemoryBase + i) + ",1"), "OK");
    EXPECT_EQ(ask("Z0," + number_hex(kFakeMemoryBase + 0x200) + ",1"), "E28");
    EXPECT_EQ(ask("z0," + number_hex(kFakeMemoryBase + 3) + ",1"), "OK");
    EXPECT_EQ(ask("Z0," + number_hex(kFakeMemoryBase + 0x200) + ",1"), "OK");
}

TEST_F(StubTest, HardwareBreakpointsAndWatchpointsProgramDr7)
{
    uint64_t code = 0xffffffff80101234;
    uint64_t data = kFakeMemoryBase + 0x208;
    EXPECT_EQ(ask("Z1," + number_hex(code) + ",1"), "OK");
    EXPECT_EQ(target.debug.address[0], code);
    EXPECT_EQ(target.debug.dr7, (1u << 1) | (1u << 9));  // G0 + GE, R/W0 = LEN0 = 00
    EXPECT_EQ(ask("Z2," + number_hex(data) + ",8"), "OK");
    EXPECT_EQ(target.debug.address[1], data);
    // G1 at bit 3; slot 1 nibble at bits 20-23: LEN=10 (8 bytes), R/W=01 (write).
    EXPECT_EQ(target.debug.dr7, (1u << 1) | (1u << 3) | (1u << 9) | (0x9ull << 20));
    EXPECT_EQ(ask("Z4," + number_hex(data + 4) + ",4"), "OK");
    EXPECT_EQ((target.debug.dr7 >> 24) & 0xF, 0xFu);  // LEN=11 (4 bytes), R/W=11 (access)
    EXPECT_EQ(ask("Z4," + number_hex(data + 2) + ",2"), "OK");
    EXPECT_EQ((target.debug.dr7 >> 28) & 0xF, 0x7u);  // LEN=01, R/W=11
    EXPECT_EQ(ask("Z2," + number_hex(data) + ",1"), "E28");  // four slots in use

    EXPECT_EQ(ask("z2," + number_hex(data) + ",8"), "OK");
    EXPECT_EQ(target.debug.dr7 & (1u << 3), 0u);
    EXPECT_EQ((target.debug.dr7 >> 20) & 0xF, 0u);
    EXPECT_EQ(ask("z2," + number_hex(data) + ",8"), "E01");
    EXPECT_EQ(ask("Z2," + number_hex(data) + ",1"), "OK");  // the freed slot is reused
    EXPECT_EQ(target.debug.address[1], data);
}

TEST_F(StubTest, ReadWatchpointsAreUnsupportedAndBadWatchesRefused)
{
    EXPECT_EQ(ask("Z3," + number_hex(kFakeMemoryBase) + ",4"), "");
    EXPECT_EQ(ask("z3," + number_hex(kFakeMemoryBase) + ",4"), "");
    EXPECT_EQ(ask("Z5,0,1"), "");
    EXPECT_EQ(ask("Z2," + number_hex(kFakeMemoryBase) + ",0"), "E22");
    EXPECT_EQ(ask("Z2," + number_hex(kFakeMemoryBase) + ",21"), "E22");  // 33 bytes: more than 4 x 8
    EXPECT_EQ(ask("Z2,fffffffffffffff8,10"), "E22");                     // wraps
    EXPECT_EQ(target.debug_loads, 0);
}

TEST_F(StubTest, WatchRangesSplitOverDebugRegisters)
{
    uint64_t base = kFakeMemoryBase + 0x200;
    // 16 bytes, aligned: two 8-byte pieces.
    EXPECT_EQ(ask("Z2," + number_hex(base) + ",10"), "OK");
    EXPECT_EQ(target.debug.address[0], base);
    EXPECT_EQ(target.debug.address[1], base + 8);
    EXPECT_EQ((target.debug.dr7 >> 16) & 0xFF, 0x99u);  // LEN=10 (8), R/W=01, twice
    // 3 bytes at an odd address: 1 + 2.
    EXPECT_EQ(ask("Z4," + number_hex(base + 0x21) + ",3"), "OK");
    EXPECT_EQ(target.debug.address[2], base + 0x21);
    EXPECT_EQ(target.debug.address[3], base + 0x22);
    EXPECT_EQ((target.debug.dr7 >> 24) & 0xFF, 0x73u);  // LEN=00 (1) then 01 (2), R/W=11
    EXPECT_EQ(ask("Z2," + number_hex(base + 0x40) + ",1"), "E28");  // no register left
    // A hit in any piece reports the start of the range gdb asked for.
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, 1u << 1, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1, "watch:" + number_hex(base) + ";") });
    // Removing one range frees all of its pieces and nothing else.
    EXPECT_EQ(ask("z2," + number_hex(base) + ",10"), "OK");
    EXPECT_EQ(stub.breakpoint_count(), 2u);
    EXPECT_EQ(ask("z2," + number_hex(base) + ",10"), "E01");
    EXPECT_EQ(ask("Z2," + number_hex(base + 1) + ",f"), "E28");  // 1+2+4+8: four pieces, two free
    EXPECT_EQ(ask("Z2," + number_hex(base + 4) + ",c"), "OK");   // 4 + 8
    EXPECT_EQ(stub.breakpoint_count(), 4u);
}

// ---- Resuming and stopping -----------------------------------------------------

TEST_F(StubTest, StopReplyCarriesThreadAndExpeditedRegisters)
{
    EXPECT_EQ(ask("?"), stop_reply(5, 1));
    EXPECT_EQ(ask("?"), "T05thread:1;06:" + le_hex(target.reg(1, GdbRegister::Rbp), 8) + ";07:"
                  + le_hex(target.reg(1, GdbRegister::Rsp), 8) + ";10:" + le_hex(target.reg(1, GdbRegister::Rip), 8) + ";");
}

TEST_F(StubTest, VContQueryAndStep)
{
    EXPECT_EQ(ask("vCont?"), "vCont;c;C;s;S");
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Requested, 0, 0, 2 });  // thread 2 now on the CPU
    replies();
    EXPECT_EQ(feed(rsp_frame("vCont;s:2;c")), GdbAction::Step);
    EXPECT_EQ(stub.resume_thread(), 2u);
    EXPECT_TRUE(stub.running());
    EXPECT_TRUE(replies().empty());  // the reply comes with the stop
    target.reg(2, GdbRegister::Rip) += 3;
    EXPECT_EQ(stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 2 }), GdbAction::None);
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 2) });
    EXPECT_EQ(stub.stop_reason(), GdbStopReason::None);
}

TEST_F(StubTest, VContVariants)
{
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    EXPECT_EQ(stub.resume_thread(), 1u);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, 1 });
    replies();
    EXPECT_EQ(feed(rsp_frame("vCont;S0b:1")), GdbAction::Step);
    EXPECT_EQ(stub.resume_thread(), 1u);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    replies();
    EXPECT_EQ(feed(rsp_frame("vCont;c:-1")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    replies();
    EXPECT_EQ(ask("vCont;x"), "E01");
    EXPECT_EQ(ask("vCont;"), "E01");
    EXPECT_EQ(ask("vCont;C"), "E01");
    EXPECT_EQ(ask("vCont;s:zz"), "E01");
    EXPECT_EQ(ask("vCont;c;"), "E01");
    EXPECT_FALSE(stub.running());
}

TEST_F(StubTest, LegacyContinueAndStepWithAddress)
{
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, 1 });
    replies();
    EXPECT_EQ(feed(rsp_frame("s" + number_hex(kFakeMemoryBase + 0x500))), GdbAction::Step);
    EXPECT_EQ(target.reg(1, GdbRegister::Rip), kFakeMemoryBase + 0x500);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    replies();
    EXPECT_EQ(feed(rsp_frame("C0b;" + number_hex(kFakeMemoryBase + 0x600))), GdbAction::Continue);
    EXPECT_EQ(target.reg(1, GdbRegister::Rip), kFakeMemoryBase + 0x600);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    replies();
    EXPECT_EQ(ask("czz"), "E01");
    EXPECT_EQ(ask("S"), "E01");
    EXPECT_EQ(ask("C05;"), "E01");
}

TEST_F(StubTest, MalformedResumeWithAddressLeavesRipAlone)
{
    // Found by tests/fuzz/live_fuzz.py: these were refused but moved rip
    // first, so the next `c` jumped to the address.
    uint64_t rip = target.reg(1, GdbRegister::Rip);
    for (const char* packet : { "c1234zz", "s1234,", "C05;1234zz", "S05;1234;" }) {
        EXPECT_EQ(ask(packet), "E01") << packet;
        EXPECT_EQ(target.reg(1, GdbRegister::Rip), rip) << packet;
    }
}

TEST_F(StubTest, OnlyTheStoppedThreadCanBeStepped)
{
    // Thread 2 is not on the CPU: stepping it is an error, never a step of thread 1.
    EXPECT_EQ(ask("vCont;s:2;c"), "E03");
    EXPECT_EQ(ask("vCont;s:7"), "E03");
    EXPECT_EQ(ask("Hc2"), "OK");
    EXPECT_EQ(ask("s"), "E03");
    EXPECT_FALSE(stub.running());
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);  // continuing is global
    (void)stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 });
    replies();
    EXPECT_EQ(ask("Hc1"), "OK");
    EXPECT_EQ(feed(rsp_frame("vCont;s:1;c")), GdbAction::Step);
    EXPECT_EQ(stub.resume_thread(), 1u);
}

TEST_F(StubTest, HcSelectsTheThreadLegacyStepsApplyTo)
{
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Requested, 0, 0, 2 });
    replies();
    EXPECT_EQ(ask("Hc2"), "OK");
    EXPECT_EQ(feed(rsp_frame("s")), GdbAction::Step);
    EXPECT_EQ(stub.resume_thread(), 2u);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 2 });
    replies();
    EXPECT_EQ(ask("Hc-1"), "OK");
    EXPECT_EQ(feed(rsp_frame("s")), GdbAction::Step);
    EXPECT_EQ(stub.resume_thread(), 2u);  // the thread that stopped last
}

TEST_F(StubTest, BreakpointHitRewindsRipAndSaysSwbreak)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    target.reg(1, GdbRegister::Rip) = a + 1;  // int3 traps after itself
    EXPECT_EQ(stub.notify_stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, 1 }), GdbAction::None);
    EXPECT_EQ(target.reg(1, GdbRegister::Rip), a);
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1, "swbreak:;") });
    EXPECT_EQ(stub.stop_reason(), GdbStopReason::SwBreak);
}

TEST_F(StubTest, CompiledInInt3IsNotRewound)
{
    EXPECT_EQ(feed(rsp_frame("c")), GdbAction::Continue);
    uint64_t rip = target.reg(1, GdbRegister::Rip);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, 1 });
    EXPECT_EQ(target.reg(1, GdbRegister::Rip), rip);
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1) });
}

TEST_F(StubTest, WatchpointAndHardwareBreakpointStops)
{
    uint64_t data = kFakeMemoryBase + 0x208;
    uint64_t code = kFakeMemoryBase + 0x300;
    EXPECT_EQ(ask("Z1," + number_hex(code) + ",1"), "OK");  // slot 0
    EXPECT_EQ(ask("Z2," + number_hex(data) + ",8"), "OK");  // slot 1
    EXPECT_EQ(ask("Z4," + number_hex(data + 8) + ",8"), "OK");  // slot 2

    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, 1u << 1, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1, "watch:" + number_hex(data) + ";") });

    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, 1u << 2, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1, "awatch:" + number_hex(data + 8) + ";") });

    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, 1u << 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1, "hwbreak:;") });

    // B3 names a slot we never armed: a plain trap.
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, 1u << 3, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1) });
}

TEST_F(StubTest, FaultsAndPanicsMapToSignals)
{
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorPageFault, 0, 2 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(11, 2) });  // SIGSEGV
    EXPECT_EQ(ask("?"), stop_reply(11, 2));
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, 6, 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(4, 1) });  // #UD: SIGILL
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, 0, 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(8, 1) });  // #DE: SIGFPE
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    // A panic reports the exception behind it, not SIGABRT.
    (void)stub.notify_stop({ GdbStopCause::Panic, kVectorPageFault, 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(11, 1) });  // #PF: SIGSEGV
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Panic, 6, 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(4, 1) });  // #UD: SIGILL
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Panic, kVectorBreakpoint, 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1) });  // #BP: SIGTRAP
}

TEST_F(StubTest, CtrlCWhileRunningStopsWithSigint)
{
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    EXPECT_EQ(feed("\x03"), GdbAction::Stop);
    EXPECT_TRUE(replies().empty());
    EXPECT_EQ(stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 }), GdbAction::None);
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(2, 1) });
    EXPECT_EQ(feed("\x03"), GdbAction::None);  // already stopped: ignored
    EXPECT_EQ(ask("?"), stop_reply(2, 1));
}

TEST_F(StubTest, StrayCtrlCWithoutGdbDoesNotStopTheKernel)
{
    EXPECT_EQ(feed(rsp_frame("D")), GdbAction::Detach);
    replies();
    EXPECT_EQ(feed("\x03"), GdbAction::None);
    EXPECT_EQ(stub.counters().interrupts, 1u);
}

TEST_F(StubTest, GdbAttachingToARunningKernelStopsItAndGetsItsAnswer)
{
    EXPECT_EQ(feed(rsp_frame("D")), GdbAction::Detach);
    replies();
    EXPECT_FALSE(stub.attached());
    EXPECT_EQ(feed("+"), GdbAction::None);
    EXPECT_EQ(feed(rsp_frame("qSupported:swbreak+")), GdbAction::Stop);
    EXPECT_EQ(replies(), std::vector<std::string> {});  // acked, answered after the stop
    EXPECT_EQ(acks, std::vector<std::string> { "+" });
    EXPECT_EQ(stub.notify_stop({ GdbStopCause::Requested, 0, 0, 3 }), GdbAction::None);
    std::vector<std::string> r = replies();
    ASSERT_EQ(r.size(), 1u);  // no stop reply nobody asked for
    EXPECT_EQ(r[0].substr(0, 15), "PacketSize=800;");
    EXPECT_TRUE(stub.attached());
    EXPECT_EQ(ask("?"), stop_reply(5, 3));
}

TEST_F(StubTest, OversizedPacketIsAnErrorAndTheNextOneWorks)
{
    EXPECT_EQ(ask("M" + number_hex(kFakeMemoryBase) + ",900:" + std::string(0x1200, '0')), "E01");
    EXPECT_EQ(target.memory_writes, 0);
    EXPECT_EQ(ask("qAttached"), "1");
}

TEST_F(StubTest, BadChecksumIsNotDispatched)
{
    std::string framed = rsp_frame("Z0," + number_hex(kFakeMemoryBase) + ",1");
    framed.back() ^= 1;
    feed(framed);
    EXPECT_TRUE(replies().empty());
    EXPECT_EQ(acks, std::vector<std::string> { "-" });
    EXPECT_EQ(target.memory_writes, 0);
}

// ---- Threads -----------------------------------------------------------------

TEST_F(StubTest, ThreadQueries)
{
    // gdb lists threads with qXfer:threads:read (below) and takes the
    // current one from the stop reply; the classic list stays for other
    // clients: every id in the first packet, then the end.
    EXPECT_EQ(ask("qfThreadInfo"), "m1,2,3");
    EXPECT_EQ(ask("qsThreadInfo"), "l");
    EXPECT_EQ(ask("qC"), "");
    EXPECT_EQ(ask("T2"), "OK");
    EXPECT_EQ(ask("T9"), "E01");
    EXPECT_EQ(ask("T"), "E01");
}

// Everything gdb's `info threads` shows, in one document: ids in hex, the
// one CPU, names, and the state as the element's text (gdb's extra info).
TEST_F(StubTest, ThreadsXmlNamesEveryThread)
{
    const std::string doc = "<threads><thread id=\"1\" core=\"0\" name=\"idle\">running</thread>"
                            "<thread id=\"2\" core=\"0\" name=\"worker\">" + std::string(63, 'z') + "</thread>"
                            "<thread id=\"3\" core=\"0\" name=\"worker\">blocked 3</thread></threads>";
    EXPECT_EQ(ask("qXfer:threads:read::0,fff"), "l" + doc);
    // Read in pieces as gdb does when its buffer is small: m while more is
    // left, l with the last piece, l alone at or past the end.
    for (size_t chunk : { 1, 7, 64 }) {
        std::string assembled;
        std::string r;
        size_t offset = 0;
        do {
            r = ask("qXfer:threads:read::" + number_hex(offset) + "," + number_hex(chunk));
            ASSERT_TRUE(!r.empty() && (r[0] == 'm' || r[0] == 'l')) << r;
            ASSERT_LE(r.size() - 1, chunk);
            EXPECT_EQ(r[0] == 'm', offset + r.size() - 1 < doc.size()) << offset;
            assembled += r.substr(1);
            offset += r.size() - 1;
        } while (r[0] == 'm');
        EXPECT_EQ(assembled, doc) << chunk;
    }
    EXPECT_EQ(ask("qXfer:threads:read::" + number_hex(doc.size()) + ",10"), "l");
    EXPECT_EQ(ask("qXfer:threads:read::ffffffffffffffff,10"), "l");
    EXPECT_EQ(ask("qXfer:threads:read::5,0"), "m");
    EXPECT_EQ(ask("qXfer:threads:read:x:0,10"), "E00");  // its annex is empty
    EXPECT_EQ(ask("qXfer:threads:read::0"), "E00");
    EXPECT_EQ(ask("qXfer:threads:read::0,10;"), "E00");
    EXPECT_EQ(ask("qXfer:threads:read:"), "E00");
    EXPECT_EQ(ask("qXfer:threads:write::0:aa"), "E00");
    // Ids past 9 are hex, as gdb reads them.
    target.threads = { 0x1f, 0xabc };
    EXPECT_EQ(ask("qXfer:threads:read::0,1c"), "m<threads><thread id=\"1f\" cor");
}

TEST_F(StubTest, ThreadsXmlSpansPackets)
{
    target.threads.clear();
    for (ThreadId t = 1; t <= 600; ++t)
        target.threads.push_back(0x1000000000 + t);
    std::string doc;
    std::string r;
    int packets = 0;
    do {
        r = ask("qXfer:threads:read::" + number_hex(doc.size()) + ",ffb");
        ASSERT_TRUE(!r.empty() && (r[0] == 'm' || r[0] == 'l')) << r;
        EXPECT_LE(r.size(), kRspPacketSize);
        doc += r.substr(1);
        ++packets;
    } while (r[0] == 'm');
    EXPECT_GT(packets, 10);
    std::vector<std::string> ids;
    for (size_t at = 0; (at = doc.find("id=\"", at)) != std::string::npos; at += 4)
        ids.push_back(doc.substr(at + 4, doc.find('"', at + 4) - at - 4));
    ASSERT_EQ(ids.size(), 600u);
    EXPECT_EQ(ids[0], "1000000001");
    EXPECT_EQ(ids[599], number_hex(0x1000000000 + 600));
    EXPECT_EQ(doc.substr(doc.size() - 10), "</threads>");
}

TEST_F(StubTest, HgSelectsRegisterThread)
{
    EXPECT_EQ(ask("Hg2"), "OK");
    EXPECT_EQ(ask("g"), expected_g(2));
    EXPECT_EQ(ask("Hg3"), "OK");
    EXPECT_EQ(ask("g"), expected_g(3));  // saved context only: the rest is 'x'
    EXPECT_EQ(ask("P0=0100000000000000"), "OK");
    EXPECT_EQ(target.reg(3, GdbRegister::Rax), 1u);
    EXPECT_EQ(ask("Hg0"), "OK");
    EXPECT_EQ(ask("g"), expected_g(1));
    EXPECT_EQ(ask("Hg9"), "E01");
    EXPECT_EQ(ask("Hx1"), "E01");
    EXPECT_EQ(ask("Hg"), "E01");
    // A stop moves the general thread to the one that stopped.
    EXPECT_EQ(ask("Hg2"), "OK");
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, 1 });
    replies();
    EXPECT_EQ(ask("g"), expected_g(1));
}

// ---- Queries -----------------------------------------------------------------

TEST_F(StubTest, SimpleQueries)
{
    EXPECT_EQ(ask("qSupported"),
              "PacketSize=800;qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+;swbreak+;"
              "hwbreak+");
    EXPECT_EQ(ask("qSupported:multiprocess+;xmlRegisters=i386;unknown-feature-from-the-future+"),
              "PacketSize=800;qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+;swbreak+;"
              "hwbreak+");
    EXPECT_EQ(ask("qAttached"), "1");
    EXPECT_EQ(ask("qAttached:1"), "1");
    EXPECT_EQ(ask("qOffsets"), "");   // gdb then relocates nothing
    EXPECT_EQ(ask("qSymbol::"), "");  // and offers no symbols
    EXPECT_EQ(ask("qThreadExtraInfo,1"), "");  // qXfer:threads:read carries it
    EXPECT_EQ(ask("qTStatus"), "");
    EXPECT_EQ(ask("vMustReplyEmpty"), "");
    EXPECT_EQ(ask("vKill;1"), "");
    EXPECT_EQ(ask("QThreadEvents:1"), "");
    EXPECT_EQ(ask("QStartNoAckModeX"), "");
    EXPECT_EQ(ask("!"), "");
    EXPECT_EQ(ask(""), "");
    EXPECT_EQ(ask("bc"), "");
}

namespace {

// A minimal check that tags nest and attributes are quoted: enough to catch
// a broken string literal in the description.
bool well_formed(const std::string& xml, std::vector<std::string>& regs)
{
    std::vector<std::string> stack;
    size_t i = 0;
    while (i < xml.size()) {
        if (xml[i] != '<') {
            ++i;
            continue;
        }
        size_t end = xml.find('>', i);
        if (end == std::string::npos)
            return false;
        std::string tag = xml.substr(i + 1, end - i - 1);
        i = end + 1;
        if (std::count(tag.begin(), tag.end(), '"') % 2 != 0 || tag.find('<') != std::string::npos)
            return false;
        if (tag[0] == '/') {
            if (stack.empty() || stack.back() != tag.substr(1))
                return false;
            stack.pop_back();
            continue;
        }
        std::string name = tag.substr(0, tag.find_first_of(" /"));
        if (name == "reg") {
            size_t n = tag.find("name=\"") + 6;
            size_t b = tag.find("bitsize=\"") + 9;
            regs.push_back(tag.substr(n, tag.find('"', n) - n) + ":" + tag.substr(b, tag.find('"', b) - b));
        }
        if (tag.back() != '/')
            stack.push_back(name);
    }
    return stack.empty();
}

}  // namespace

TEST_F(StubTest, TargetXmlComesInChunksAndIsWellFormed)
{
    std::string full;
    XmlWindow whole { 0, 0, SIZE_MAX, append_char, &full };
    emit_target_xml(whole);
    ASSERT_EQ(whole.pos, full.size());
    // A window in the middle is exactly that slice of the document.
    std::string slice;
    XmlWindow middle { 0, 100, 137, append_char, &slice };
    emit_target_xml(middle);
    EXPECT_EQ(middle.pos, full.size());
    EXPECT_EQ(slice, full.substr(100, 37));
    for (char c : full)
        ASSERT_TRUE(c != '#' && c != '$' && c != '}' && c != '*') << "would need escaping";

    std::string assembled;
    size_t offset = 0;
    for (int guard = 0; guard < 1000; ++guard) {
        std::string r = ask("qXfer:features:read:target.xml:" + number_hex(offset) + ",7b");
        ASSERT_FALSE(r.empty());
        ASSERT_TRUE(r[0] == 'm' || r[0] == 'l');
        EXPECT_LE(r.size() - 1, 0x7bu);
        assembled += r.substr(1);
        offset += r.size() - 1;
        if (r[0] == 'l')
            break;
    }
    EXPECT_EQ(assembled, full);
    // A request larger than a packet gets one packet's worth (the
    // document, with its flag types, is longer than that).
    std::string first = ask("qXfer:features:read:target.xml:0,ffb");
    ASSERT_GT(full.size(), kRspPacketSize - 1);
    EXPECT_EQ(first, "m" + full.substr(0, kRspPacketSize - 1));
    EXPECT_EQ(ask("qXfer:features:read:target.xml:" + number_hex(full.size()) + ",100"), "l");
    EXPECT_EQ(ask("qXfer:features:read:target.xml:ffffff,100"), "l");
    EXPECT_EQ(ask("qXfer:features:read:target.xml:0,0"), "m");
    EXPECT_EQ(ask("qXfer:features:read:other.xml:0,100"), "E00");
    EXPECT_EQ(ask("qXfer:features:read:target.xml:0"), "E00");
    EXPECT_EQ(ask("qXfer:features:read:target.xm"), "E00");
    EXPECT_EQ(ask("qXfer:features:read:target.xml:0,10zz"), "E00");
    EXPECT_EQ(ask("qXfer:memory-map:read::0,100"), "E00");  // an object we do not have
    EXPECT_EQ(ask("qXfer:features:write:target.xml:0:ab"), "E00");

    std::vector<std::string> regs;
    EXPECT_TRUE(well_formed(full, regs));
    EXPECT_NE(full.find("<architecture>i386:x86-64</architecture>"), std::string::npos);
    EXPECT_NE(full.find("org.gnu.gdb.i386.core"), std::string::npos);
    EXPECT_NE(full.find("org.gnu.gdb.i386.segments"), std::string::npos);
    // The register list in the XML is exactly the g/p numbering.
    const char* names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs", "st0", "st1", "st2",
        "st3", "st4", "st5", "st6", "st7", "fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
        "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "efer", "cr8", "k_gs_base", "dr0", "dr1", "dr2", "dr3",
        "dr6", "dr7" };
    ASSERT_EQ(regs.size(), kGdbRegisterCount);
    for (size_t i = 0; i < kGdbRegisterCount; ++i) {
        EXPECT_EQ(regs[i], std::string(names[i]) + ":" + std::to_string(8 * register_size(static_cast<GdbRegister>(i))))
            << "register " << i;
    }
    // Flag registers name their flags type, defined earlier in the same
    // feature, with single-bit fields written without leading zeros.
    for (const char* reg : { "eflags\" bitsize=\"32\" type=\"i386_eflags\"", "cr0\" bitsize=\"64\" type=\"exo_cr0\"",
             "cr4\" bitsize=\"64\" type=\"exo_cr4\"", "efer\" bitsize=\"64\" type=\"exo_efer\"" })
        EXPECT_NE(full.find(std::string("<reg name=\"") + reg), std::string::npos) << reg;
    EXPECT_LT(full.find("<flags id=\"i386_eflags\" size=\"4\">"), full.find("name=\"eflags\""));
    EXPECT_LT(full.find("<flags id=\"exo_cr4\" size=\"8\">"), full.find("name=\"cr4\""));
    EXPECT_GT(full.find("<flags id=\"exo_cr0\""), full.find("org.exo.x86-64.system"));
    EXPECT_NE(full.find("<field name=\"IF\" start=\"9\" end=\"9\"/>"), std::string::npos);
    EXPECT_NE(full.find("<field name=\"PG\" start=\"31\" end=\"31\"/>"), std::string::npos);
    EXPECT_NE(full.find("<field name=\"LMA\" start=\"10\" end=\"10\"/>"), std::string::npos);
    EXPECT_EQ(full.find("start=\"0"), full.find("start=\"0\""));  // no "09"
}

TEST_F(StubTest, QCrcIsGdbsCrc32OverMemory)
{
    uint64_t a = kFakeMemoryBase + 0x400;
    EXPECT_EQ(ask("M" + number_hex(a) + ",9:" + to_hex("123456789")), "OK");
    // CRC-32/MPEG-2's check value: what libiberty's xcrc32 gives gdb.
    EXPECT_EQ(ask("qCRC:" + number_hex(a) + ",9"), "C376e6e7");
    EXPECT_EQ(ask("qCRC:" + number_hex(a) + ",0"), "Cffffffff");
    // Longer than one window: the same as the CRC computed here.
    uint32_t crc = 0xFFFFFFFF;
    for (size_t i = 0; i < 0x1800; ++i) {
        crc ^= static_cast<uint32_t>(target.byte_at(kFakeMemoryBase + i)) << 24;
        for (int bit = 0; bit < 8; ++bit)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
    }
    EXPECT_EQ(ask("qCRC:" + number_hex(kFakeMemoryBase) + ",1800"), "C" + number_hex(crc));
    EXPECT_EQ(ask("qCRC:" + number_hex(kFakeMemoryBase + exo::test::kFakeMemorySize - 4) + ",8"), "E14");  // runs off the end
    EXPECT_EQ(ask("qCRC:10,4"), "E14");
    // At a load address (the ELF's LMA, which compare-sections uses).
    EXPECT_EQ(ask("qCRC:" + number_hex(a - kFakeMemoryBase + 0x1000) + ",9"), "C376e6e7");
    EXPECT_EQ(ask("qCRC:" + number_hex(a)), "E01");
}

// gdb's `find`: the first match's address, or 0; memory is read in windows
// of about one packet, so matches across window edges are checked too.
TEST_F(StubTest, QSearchMemoryFindsTheFirstMatch)
{
    // Memory here repeats every 256 bytes; make a few spots unique.
    const std::string needle = "needle";
    const std::string odd = std::string("a#$}*\x03\0b", 8);  // bytes gdb escapes, and a NUL
    for (uint64_t at : { 0x7eb, 0x1fd7, 0x2ff0 })  // the first across the first window's end
        EXPECT_EQ(ask("M" + number_hex(kFakeMemoryBase + at) + ",6:" + to_hex(needle)), "OK");
    EXPECT_EQ(ask("M" + number_hex(kFakeMemoryBase + 0x1234) + ",8:" + to_hex(odd)), "OK");
    auto search = [&](uint64_t offset, uint64_t length, const std::string& pattern) {
        return ask("qSearch:memory:" + number_hex(kFakeMemoryBase + offset) + ";" + number_hex(length) + ";"
            + rsp_escape(pattern));
    };
    // What it must answer: the first whole match inside the range.
    auto expected = [&](uint64_t offset, uint64_t length, const std::string& pattern) -> std::string {
        auto begin = target.memory.begin() + static_cast<ptrdiff_t>(offset);
        auto end = begin + static_cast<ptrdiff_t>(length);
        auto hit = std::search(begin, end, pattern.begin(), pattern.end(),
            [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
        return hit == end ? "0" : "1," + number_hex(kFakeMemoryBase + static_cast<uint64_t>(hit - target.memory.begin()));
    };
    EXPECT_EQ(search(0, 0x3000, needle), "1," + number_hex(kFakeMemoryBase + 0x7eb));
    // The match at every position across a window's end (the first window
    // is 2030 bytes).
    for (uint64_t start = 0; start < 8; ++start)
        EXPECT_EQ(search(start, 0x3000 - start, needle), "1," + number_hex(kFakeMemoryBase + 0x7eb)) << start;
    EXPECT_EQ(search(0x7f0, 0x2810, needle), "1," + number_hex(kFakeMemoryBase + 0x1fd7));
    EXPECT_EQ(search(0x1fd8, 0x101d, needle), "0");  // the last match ends one byte past the range
    EXPECT_EQ(search(0x1fd8, 0x101e, needle), "1," + number_hex(kFakeMemoryBase + 0x2ff0));
    EXPECT_EQ(search(0, 0x3000, odd), "1," + number_hex(kFakeMemoryBase + 0x1234));
    EXPECT_EQ(search(0, 0x3000, "\x01"), "1," + number_hex(kFakeMemoryBase));
    EXPECT_EQ(search(0, 0, "\x01"), "0");
    EXPECT_EQ(search(0, 5, needle), "0");  // shorter than the pattern
    // Patterns as long as a packet allows, straddling windows.
    std::string longest(target.memory.begin() + 0x923, target.memory.begin() + 0x923 + 0x7d0);
    EXPECT_EQ(search(0x10, 0x2ff0, longest), expected(0x10, 0x2ff0, longest));
    EXPECT_EQ(search(0x10, 0x2ff0, longest).substr(0, 2), "1,");
    // An unreadable window is an error, never a fault: here the range
    // runs off the fake's memory (the kernel: an unmapped page).
    EXPECT_EQ(search(0x2f00, 0x200, "zzzz"), "E14");
    EXPECT_EQ(search(0x2f00, 0x200, needle), "1," + number_hex(kFakeMemoryBase + 0x2ff0));  // before the end
    EXPECT_EQ(search(0x2f00, 0x200, needle.substr(0, 5) + "x"), "E14");
    EXPECT_EQ(search(0x1000, 0x2ff0, needle.substr(0, 5) + "x"), "E14");  // in the second window
    EXPECT_EQ(ask("qSearch:memory:10;4;ab"), "E14");
    EXPECT_EQ(ask("qSearch:memory:" + number_hex(kFakeMemoryBase) + ";10;"), "E01");  // no pattern
    EXPECT_EQ(ask("qSearch:memory:" + number_hex(kFakeMemoryBase) + ";10"), "E01");
    EXPECT_EQ(ask("qSearch:memory:" + number_hex(kFakeMemoryBase) + ",10;ab"), "E01");
    EXPECT_EQ(ask("qSearch:memory:zz;10;ab"), "E01");
    EXPECT_EQ(ask("qSearch:memory:"), "E01");
    EXPECT_EQ(ask("qSearch:memoryx"), "");
}

TEST_F(StubTest, MonitorStreamsOutputThenOk)
{
    target.monitor_output = { "boot", " done\r\n", "" };
    EXPECT_EQ(feed(rsp_frame("qRcmd," + to_hex("boot --json"))), GdbAction::None);
    std::vector<std::string> r = replies();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0], "O" + to_hex("boot done\r\n"));
    EXPECT_EQ(r[1], "OK");
    EXPECT_EQ(target.monitor_commands, std::vector<std::string> { "boot --json" });
}

TEST_F(StubTest, MonitorSplitsLongOutputAcrossPackets)
{
    std::string text;
    for (int i = 0; i < 5000; ++i)
        text += static_cast<char>('a' + i % 26);
    target.monitor_output = { text.substr(0, 10), text.substr(10) };
    feed(rsp_frame("qRcmd," + to_hex("log")));
    std::vector<std::string> r = replies();
    ASSERT_GE(r.size(), 4u);
    EXPECT_EQ(r.back(), "OK");
    std::string streamed;
    for (size_t i = 0; i + 1 < r.size(); ++i) {
        ASSERT_EQ(r[i][0], 'O');
        EXPECT_LE(r[i].size(), kRspPacketSize);
        streamed += from_hex(r[i].substr(1));
    }
    EXPECT_EQ(streamed, text);
}

TEST_F(StubTest, MonitorWithoutOutputAndMalformed)
{
    EXPECT_EQ(ask("qRcmd,"), "OK");
    EXPECT_EQ(target.monitor_commands, std::vector<std::string> { "" });
    EXPECT_EQ(ask("qRcmd,6"), "E01");
    EXPECT_EQ(ask("qRcmd,zz"), "E01");
    EXPECT_EQ(target.monitor_commands.size(), 1u);
}

// ---- Sessions ----------------------------------------------------------------

TEST_F(StubTest, DetachRemovesEveryBreakpointAndResumes)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    uint64_t b = kFakeMemoryBase + 0x180;
    uint8_t original_a = target.byte_at(a);
    uint8_t original_b = target.byte_at(b);
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(ask("Z0," + number_hex(b) + ",1"), "OK");
    EXPECT_EQ(ask("Z2," + number_hex(a) + ",8"), "OK");
    EXPECT_NE(target.debug.dr7, 0u);
    EXPECT_EQ(feed(rsp_frame("D")), GdbAction::Detach);
    EXPECT_EQ(replies(), std::vector<std::string> { "OK" });
    EXPECT_EQ(target.byte_at(a), original_a);
    EXPECT_EQ(target.byte_at(b), original_b);
    EXPECT_EQ(target.debug.dr7, 0u);
    EXPECT_TRUE(stub.running());
    EXPECT_FALSE(stub.attached());
}

TEST_F(StubTest, OnlyExactDAndKDetach)
{
    EXPECT_EQ(ask("Dxyz"), "");
    EXPECT_EQ(ask("k0"), "");
    EXPECT_EQ(ask("D1"), "");
    EXPECT_FALSE(stub.running());
    EXPECT_EQ(ask("D;1", GdbAction::Detach), "OK");  // multiprocess form
    EXPECT_TRUE(stub.running());
}

TEST_F(StubTest, DetachFromTheKernelSideSendsNoReply)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(ask("Z2," + number_hex(a) + ",8"), "OK");
    EXPECT_EQ(stub.detach(), GdbAction::Detach);
    EXPECT_TRUE(replies().empty());
    EXPECT_TRUE(stub.running());
    EXPECT_FALSE(stub.attached());
    EXPECT_EQ(stub.breakpoint_count(), 0u);
    EXPECT_EQ(target.debug.dr7, 0u);
}

TEST_F(StubTest, KillDetachesWithoutReply)
{
    uint64_t a = kFakeMemoryBase + 0x100;
    uint8_t original = target.byte_at(a);
    EXPECT_EQ(ask("Z0," + number_hex(a) + ",1"), "OK");
    EXPECT_EQ(feed(rsp_frame("k")), GdbAction::Detach);
    EXPECT_TRUE(replies().empty());
    EXPECT_EQ(target.byte_at(a), original);
    EXPECT_TRUE(stub.running());
}

TEST_F(StubTest, NoAckModeThroughTheStub)
{
    EXPECT_EQ(ask("QStartNoAckMode"), "OK");
    EXPECT_EQ(stub.ack_mode(), RspAckMode::On);
    feed("+");
    EXPECT_EQ(stub.ack_mode(), RspAckMode::Off);
    EXPECT_EQ(ask("qAttached"), "1");
    EXPECT_TRUE(acks.empty());
}

// The kgdbts idea: a table of exchanges, here a full gdb 13 session recorded
// against this stub (checksums as gdb sent them), replayed in order.
TEST_F(StubTest, RecordedGdbSession)
{
    const std::string hello =
        "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;"
        "vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386";
    ASSERT_EQ(rsp_frame(hello), "$" + hello + "#77");
    ASSERT_EQ(rsp_frame("vCont;s:1"), "$vCont;s:1#23");
    ASSERT_EQ(rsp_frame("D"), "$D#44");

    // gdb connects while the kernel runs.
    EXPECT_EQ(feed("+"), GdbAction::None);
    EXPECT_EQ(stub.notify_stop({ GdbStopCause::Requested, 0, 0, 1 }), GdbAction::None);
    replies();

    const uint64_t text = kFakeMemoryBase + 0x100;
    const uint64_t stack = kFakeMemoryBase + 0x2000;
    target.reg(1, GdbRegister::Rsp) = stack;
    struct Exchange {
        std::string packet;
        std::string reply;  // "*" means checked separately
    };
    const std::vector<Exchange> session = {
        { hello, "PacketSize=800;qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+;swbreak+;"
              "hwbreak+" },
        { "vMustReplyEmpty", "" },
        { "QStartNoAckMode", "OK" },
        { "Hg0", "OK" },
        { "qXfer:features:read:target.xml:0,ffb", "*" },
        { "qTStatus", "" },
        { "?", stop_reply(5, 1) },
        { "qfThreadInfo", "m1,2,3" },
        { "qAttached", "1" },
        { "Hc-1", "OK" },
        { "qOffsets", "" },
        { "g", expected_g(1) },
        { "m" + number_hex(stack) + ",40", to_hex(std::string(target.memory.begin() + 0x2000, target.memory.begin() + 0x2040)) },
        { "qSymbol::", "" },
        { "qXfer:threads:read::0,ffb", "*" },
        { "m" + number_hex(text) + ",1", to_hex(std::string(1, static_cast<char>(target.byte_at(text)))) },
        { "Z0," + number_hex(text) + ",1", "OK" },
        { "vCont?", "vCont;c;C;s;S" },
    };
    for (const Exchange& e : session) {
        std::string r = ask(e.packet);
        if (e.reply != "*") {
            EXPECT_EQ(r, e.reply) << e.packet;
        }
        if (e.packet == "QStartNoAckMode")
            feed("+");  // gdb acknowledges the OK, then both sides stop acking
    }
    EXPECT_EQ(stub.ack_mode(), RspAckMode::Off);

    // continue -> breakpoint hit
    EXPECT_EQ(feed(rsp_frame("vCont;c")), GdbAction::Continue);
    target.reg(1, GdbRegister::Rip) = text + 1;
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorBreakpoint, 0, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1, "swbreak:;") });
    EXPECT_EQ(ask("z0," + number_hex(text) + ",1"), "OK");
    EXPECT_EQ(ask("p10"), le_hex(text, 8));

    // stepi
    EXPECT_EQ(feed(rsp_frame("vCont;s:1")), GdbAction::Step);
    target.reg(1, GdbRegister::Rip) = text + 1;
    (void)stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 });
    EXPECT_EQ(replies(), std::vector<std::string> { stop_reply(5, 1) });

    // set var, bad read, monitor, detach
    EXPECT_EQ(ask("X" + number_hex(stack) + ",8:" + rsp_escape("\x88wfUD3\"\x11")), "OK");
    EXPECT_EQ(ask("m" + number_hex(stack) + ",8"), "8877665544332211");
    EXPECT_EQ(ask("m10,8"), "E14");
    target.monitor_output = { "you said: hi\r\n" };
    EXPECT_EQ(feed(rsp_frame("qRcmd," + to_hex("hi"))), GdbAction::None);
    EXPECT_EQ(replies(), (std::vector<std::string> { "O" + to_hex("you said: hi\r\n"), "OK" }));
    EXPECT_EQ(feed(rsp_frame("D")), GdbAction::Detach);
    EXPECT_EQ(replies(), std::vector<std::string> { "OK" });

    // Reattach: a new gdb starts in ack mode with '+'.
    EXPECT_EQ(feed("+" + rsp_frame(hello)), GdbAction::Stop);
    EXPECT_EQ(stub.ack_mode(), RspAckMode::On);
    EXPECT_EQ(stub.notify_stop({ GdbStopCause::Requested, 0, 0, 2 }), GdbAction::None);
    std::vector<std::string> r = replies();
    EXPECT_EQ(acks, std::vector<std::string> { "+" });
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].substr(0, 14), "PacketSize=800");
    EXPECT_EQ(ask("?"), stop_reply(5, 2));
    EXPECT_EQ(stub.counters().bad_checksums, 0u);
}

// kgdbts runs a thousand single steps; so do we, with the retransmit path in.
TEST_F(StubTest, ManySingleSteps)
{
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(feed(rsp_frame("vCont;s:1")), GdbAction::Step);
        target.reg(1, GdbRegister::Rip) += 1;
        ASSERT_EQ(stub.notify_stop({ GdbStopCause::Exception, kVectorDebug, kDr6SingleStep, 1 }), GdbAction::None);
        if (i % 100 == 0) {
            replies();
            feed("-");  // the stop reply got garbled on the way
        }
        std::vector<std::string> r = replies();
        ASSERT_EQ(r, std::vector<std::string> { stop_reply(5, 1) });
        feed("+");
    }
    EXPECT_EQ(stub.counters().retransmits, 10u);
}
