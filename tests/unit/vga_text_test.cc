#include "kernel/drivers/vga/vga_text.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "tests/unit/fake_io.h"

using namespace exo;

namespace {

constexpr uint16_t kGarbage = 0xDEAD;

class VgaTextTest : public ::testing::Test {
protected:
    // Exactly 80 * 25 cells on the heap, so ASan catches any write past them.
    std::unique_ptr<uint16_t[]> m_cells { new uint16_t[vga::kCells] };
    VgaText m_vga { m_cells.get() };

    void SetUp() override
    {
        for (size_t i = 0; i < vga::kCells; ++i)
            m_cells[i] = kGarbage;
        m_vga.clear();
    }

    void put(const std::string& s) { m_vga.write(s.data(), s.size()); }

    uint16_t cell(size_t row, size_t col) const { return m_cells[row * vga::kColumns + col]; }

    // The characters of a row, trailing blanks removed.
    std::string row(size_t r) const
    {
        std::string out;
        for (size_t c = 0; c < vga::kColumns; ++c)
            out += static_cast<char>(cell(r, c) & 0xFF);
        return out.substr(0, out.find_last_not_of(' ') + 1);
    }

    void expect_cursor(uint8_t r, uint8_t c) const
    {
        EXPECT_EQ(m_vga.cursor().row, r);
        EXPECT_EQ(m_vga.cursor().col, c);
    }
};

}  // namespace

TEST_F(VgaTextTest, ClearBlanksWithAttributeAndHomes)
{
    for (size_t i = 0; i < vga::kCells; ++i)
        ASSERT_EQ(m_cells[i], 0x0720);
    expect_cursor(0, 0);
}

TEST_F(VgaTextTest, ConstructorLeavesFirmwareTextAlone)
{
    uint16_t cells[vga::kCells];
    for (uint16_t& c : cells)
        c = kGarbage;
    VgaText vga(cells);
    vga.write("x", 1);
    EXPECT_EQ(cells[0], 0x0700 | 'x');
    EXPECT_EQ(cells[1], kGarbage);
}

TEST_F(VgaTextTest, TextGetsCurrentAttribute)
{
    put("hi");
    EXPECT_EQ(cell(0, 0), 0x0700 | 'h');
    EXPECT_EQ(cell(0, 1), 0x0700 | 'i');
    EXPECT_EQ(cell(0, 2), 0x0720);
    expect_cursor(0, 2);
}

TEST_F(VgaTextTest, NewlineAndCarriageReturn)
{
    put("abc\r\ndef\nxy\rZ");
    EXPECT_EQ(row(0), "abc");
    EXPECT_EQ(row(1), "def");
    EXPECT_EQ(row(2), "Zy");
    expect_cursor(2, 1);
}

TEST_F(VgaTextTest, WrapsAtColumn80Lazily)
{
    put(std::string(80, 'a'));
    expect_cursor(0, 79);  // wrap pending
    EXPECT_EQ(row(1), "");
    put("b");
    EXPECT_EQ(row(1), "b");
    expect_cursor(1, 1);
    // A full line then CR LF leaves no blank line in between.
    put("\r\n" + std::string(80, 'c') + "\r\nd");
    EXPECT_EQ(row(2), std::string(80, 'c'));
    EXPECT_EQ(row(3), "d");
}

TEST_F(VgaTextTest, ScrollsAfterLastRow)
{
    for (int i = 0; i < 30; ++i)
        put("line " + std::to_string(i) + "\r\n");
    // 30 lines plus the empty one the cursor sits on: lines 6..29 remain.
    EXPECT_EQ(row(0), "line 6");
    EXPECT_EQ(row(23), "line 29");
    EXPECT_EQ(row(24), "");
    expect_cursor(24, 0);
    put("\x1b[44m\n");
    for (size_t c = 0; c < vga::kColumns; ++c)
        ASSERT_EQ(cell(24, c), 0x1720) << c;  // new row blanked with the attribute
    EXPECT_EQ(row(22), "line 29");
}

TEST_F(VgaTextTest, BackspaceMovesLeftWithoutErasing)
{
    put("abc\b\bX\b\b\b\b\b");
    EXPECT_EQ(row(0), "aXc");
    expect_cursor(0, 0);
    put(std::string(80, 'z') + "\bY");  // from a pending wrap, like xterm
    EXPECT_EQ(cell(0, 78), 0x0700 | 'Y');
    expect_cursor(0, 79);
}

TEST_F(VgaTextTest, TabToNextMultipleOf8)
{
    put("\tx");
    EXPECT_EQ(cell(0, 8), 0x0700 | 'x');
    put("1234567\ty");  // columns 9-15, tab from 16 to 24
    EXPECT_EQ(cell(0, 9), 0x0700 | '1');
    EXPECT_EQ(cell(0, 24), 0x0700 | 'y');
    put("\t\t\t\t\t\t\t\t\t");
    expect_cursor(0, 79);  // tabs stop at the margin
}

TEST_F(VgaTextTest, EraseToEndOfLine)
{
    put("hello world\r\nsecond");
    put("\x1b[1A\r\x1b[5C\x1b[K");
    EXPECT_EQ(row(0), "hello");
    EXPECT_EQ(row(1), "second");
    expect_cursor(0, 5);
    put("\x1b[1K");
    EXPECT_EQ(row(0), "");
    put("\x1b[2;3HXY\x1b[2K");
    EXPECT_EQ(row(1), "");
}

TEST_F(VgaTextTest, CursorMovesClampAndDefaultToOne)
{
    put("abcdef\x1b[3D");
    expect_cursor(0, 3);
    put("\x1b[D\x1b[0D");
    expect_cursor(0, 1);
    put("\x1b[200D");
    expect_cursor(0, 0);
    put("\x1b[999C\x1b[99B");
    expect_cursor(24, 79);
    put("\x1b[A");
    expect_cursor(23, 79);
    put("\x1b[99999;99999H");  // saturated, clamped
    expect_cursor(24, 79);
    put("\x1b[3;4f");
    expect_cursor(2, 3);
}

// CHA (the line editor's column after moving up or down a wrapped line):
// column n-1 of this row, 0 or missing meaning 1, clamped to the row.
TEST_F(VgaTextTest, CursorHorizontalAbsolute)
{
    put("\r\nabcdef\x1b[3G");
    expect_cursor(1, 2);
    put("X\x1b[G");
    EXPECT_EQ(row(1), "abXdef");
    expect_cursor(1, 0);
    put("\x1b[80G");
    expect_cursor(1, 79);
    put("\x1b[5G\x1b[0G");
    expect_cursor(1, 0);
    put("\x1b[999G");  // clamped to the last column
    expect_cursor(1, 79);
    put("\r\n" + std::string(80, 'w') + "\x1b[10G");  // ends the pending wrap: no new row
    expect_cursor(2, 9);
    put("Y");
    EXPECT_EQ(row(2), "wwwwwwwwwY" + std::string(70, 'w'));
    expect_cursor(2, 10);
}

TEST_F(VgaTextTest, HomeAndClearScreen)
{
    put("junk\r\nmore junk");
    put("\x1b[H\x1b[2J");
    for (size_t r = 0; r < vga::kRows; ++r)
        ASSERT_EQ(row(r), "");
    expect_cursor(0, 0);
    put("ok");
    EXPECT_EQ(row(0), "ok");
}

TEST_F(VgaTextTest, EraseDisplayPartial)
{
    put("aaaa\r\nbbbb\r\ncccc\x1b[2;3H\x1b[J");
    EXPECT_EQ(row(0), "aaaa");
    EXPECT_EQ(row(1), "bb");
    EXPECT_EQ(row(2), "");
    put("\x1b[1J");
    EXPECT_EQ(row(0), "");
    EXPECT_EQ(row(1), "");
}

TEST_F(VgaTextTest, Colours)
{
    put("\x1b[1;31mR\x1b[0mN\x1b[32;44mG\x1b[mD\x1b[93mY\x1b[22;39;49mP\x1b[47;30mI");
    EXPECT_EQ(cell(0, 0), 0x0C00 | 'R');  // bright red
    EXPECT_EQ(cell(0, 1), 0x0700 | 'N');
    EXPECT_EQ(cell(0, 2), 0x1200 | 'G');  // green on blue
    EXPECT_EQ(cell(0, 3), 0x0700 | 'D');
    EXPECT_EQ(cell(0, 4), 0x0E00 | 'Y');  // bright yellow
    EXPECT_EQ(cell(0, 5), 0x0700 | 'P');
    EXPECT_EQ(cell(0, 6), 0x7000 | 'I');  // black on grey
    EXPECT_EQ(m_vga.attribute(), 0x70);
}

TEST_F(VgaTextTest, UnknownSequencesDiscarded)
{
    put("a\x1b[?25lb\x1b[6nc\x1b[1;2;3;4;5;6zd\x1b[ qe\x1b" "7f\x07g\x7f\x01h\x80\xffi");
    EXPECT_EQ(row(0), "abcdefghi");
}

TEST_F(VgaTextTest, ControlByteInsideSequenceAborts)
{
    put("x\x1b[12\r\nY");
    EXPECT_EQ(row(0), "x");
    EXPECT_EQ(row(1), "Y");
    put("\x1b\nZ");
    EXPECT_EQ(row(2), "Z");
}

TEST_F(VgaTextTest, RunawaySequenceIsAbandoned)
{
    put("\x1b[" + std::string(100, '1') + "Q");
    // The 33rd byte after ESC [ gives up; what follows is ordinary text again.
    EXPECT_EQ(row(0), std::string(100 - 33, '1') + "Q");
}

TEST_F(VgaTextTest, SequenceSplitAcrossWrites)
{
    put("abc\x1b");
    put("[");
    put("2D");
    put("X");
    EXPECT_EQ(row(0), "aXc");
}

TEST_F(VgaTextTest, RandomNoiseStaysInsideTheBuffer)
{
    std::mt19937 rng(12345);
    for (int round = 0; round < 200; ++round) {
        std::string noise(1000, '\0');
        for (char& c : noise) {
            uint32_t r = rng();
            // Bias towards the interesting bytes: ESC, '[', digits, ';', finals.
            switch (r % 4) {
            case 0: c = "\x1b[;0123456789ABCDHJKmf?\b\t\r\n"[(r >> 8) % 27]; break;
            default: c = static_cast<char>(r >> 8); break;
            }
        }
        put(noise);
        ASSERT_LT(m_vga.cursor().row, vga::kRows);
        ASSERT_LT(m_vga.cursor().col, vga::kColumns);
    }
    m_vga.clear();
    put("\x1b[0mstill works");
    EXPECT_EQ(row(0), "still works");
}

TEST(VgaHwCursor, WritesCrtcLocationRegisters)
{
    test::IoScript s;
    // Cell 24 * 80 + 79 = 1999 = 0x07CF.
    s.expected = { test::out(0x3D4, 0x0F), test::out(0x3D5, 0xCF), test::out(0x3D4, 0x0E), test::out(0x3D5, 0x07) };
    test::FakeIo io(s);
    update_hw_cursor(io, 24, 79);
    EXPECT_TRUE(s.expected.empty());
}

TEST(VgaHwCursor, OutOfRangeIgnored)
{
    test::IoScript s;
    test::FakeIo io(s);
    update_hw_cursor(io, 25, 0);
    update_hw_cursor(io, 0, 80);
    EXPECT_TRUE(s.seen.empty());
}
