#include "kernel/drivers/pic8259/pic8259.h"

#include "kernel/drivers/pit8254/pit8254.h"
#include "tests/unit/fake_io.h"

using namespace exo;
using namespace exo::test;

TEST(Pic8259, InitRemapsAndMasksAllButCascade)
{
    IoScript s;
    s.expected = {
        out(0x20, 0x11), out(0xA0, 0x11),  // ICW1
        out(0x21, 32), out(0xA1, 40),      // ICW2: vector bases
        out(0x21, 0x04), out(0xA1, 0x02),  // ICW3: cascade on IRQ 2
        out(0x21, 0x01), out(0xA1, 0x01),  // ICW4: 8086 mode
        out(0x21, 0xFB), out(0xA1, 0xFF),  // masks: only IRQ 2 open
    };
    Pic8259<FakeIo> pic { FakeIo(s) };
    pic.init(32);
    EXPECT_TRUE(s.expected.empty());
    EXPECT_EQ(pic.mask_bits(), 0xFFFB);
}

TEST(Pic8259, UnmaskAndEoiOnSlave)
{
    IoScript s;
    s.strict = false;
    Pic8259<FakeIo> pic { FakeIo(s) };
    pic.init(32);
    s.seen.clear();
    pic.unmask(4);
    EXPECT_EQ(pic.mask_bits(), 0xFFEB);
    pic.eoi(12);
    ASSERT_EQ(s.seen.size(), 4u);
    EXPECT_EQ(s.seen[2].port, 0xA0);  // slave EOI first
    EXPECT_EQ(s.seen[3].port, 0x20);
}

TEST(Pic8259, SpuriousIrq7DetectedFromIsr)
{
    IoScript s;
    s.expected = { out(0x20, 0x0B), in(0x20, 0x00), out(0x20, 0x0B), in(0x20, 0x80) };
    Pic8259<FakeIo> pic { FakeIo(s) };
    EXPECT_TRUE(pic.is_spurious(7));
    EXPECT_FALSE(pic.is_spurious(7));
}

TEST(Pit8254, PeriodicProgramsDivisorAndLatchesCounter)
{
    IoScript s;
    s.expected = { out(0x43, 0x34), out(0x40, 0x9B), out(0x40, 0x2E),  // 1193182/100 = 11931 = 0x2E9B
        out(0x43, 0x00), in(0x40, 0x34), in(0x40, 0x12) };
    Pit8254<FakeIo> pit { FakeIo(s) };
    EXPECT_EQ(pit.start_periodic(100), 11931);
    EXPECT_EQ(pit.read_counter(), 0x1234);
    EXPECT_TRUE(s.expected.empty());
}
