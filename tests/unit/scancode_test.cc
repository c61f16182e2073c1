#include "kernel/drivers/i8042/scancode.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

using namespace exo;

namespace {

// Feeds set 1 bytes and returns what a VT100 terminal would have sent.
std::string type(KeyDecoder& d, std::initializer_list<uint8_t> bytes)
{
    std::string out;
    for (uint8_t b : bytes) {
        char buf[kMaxTerminalBytes];
        size_t n = to_terminal_bytes(d.feed(b), buf);
        EXPECT_LE(n, kMaxTerminalBytes);
        out.append(buf, n);
    }
    return out;
}

constexpr uint8_t kLShift = 0x2A, kRShift = 0x36, kCtrl = 0x1D, kAlt = 0x38, kCaps = 0x3A;
constexpr uint8_t kBreak = 0x80;

}  // namespace

TEST(KeyDecoder, LettersDigitsAndPunctuation)
{
    KeyDecoder d;
    // h e l l o space 1 0 - = [ ; ' ` \ , . /
    EXPECT_EQ(type(d, { 0x23, 0xA3, 0x12, 0x26, 0x26, 0x18, 0x39, 0x02, 0x0B, 0x0C, 0x0D, 0x1A, 0x27, 0x28,
                        0x29, 0x2B, 0x33, 0x34, 0x35 }),
              "hello 10-=[;'`\\,./");
}

TEST(KeyDecoder, EventCarriesKeyAndCharacter)
{
    KeyDecoder d;
    KeyEvent e = d.feed(0x1E);
    EXPECT_EQ(e.key, Key::Char);
    EXPECT_EQ(e.ch, 'a');
    EXPECT_EQ(e.modifiers, 0);
    EXPECT_EQ(d.feed(0x9E).key, Key::None);  // release
}

TEST(KeyDecoder, ShiftEitherSide)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { kLShift, 0x1E, 0x02, 0x28, kLShift | kBreak, 0x1E }), "A!\"a");
    EXPECT_EQ(type(d, { kRShift, 0x0D, 0x35, 0x2B, kRShift | kBreak, 0x0D }), "+?|=");
    // Both held, one released: still shifted.
    EXPECT_EQ(type(d, { kLShift, kRShift, kLShift | kBreak, 0x10, kRShift | kBreak, 0x10 }), "Qq");
    EXPECT_EQ(d.modifiers(), 0);
}

TEST(KeyDecoder, CapsLockTogglesLettersOnly)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { kCaps, kCaps | kBreak, 0x1E, 0x02 }), "A1");
    EXPECT_TRUE(d.caps_lock());
    EXPECT_EQ(type(d, { kLShift, 0x1E, 0x02, kLShift | kBreak }), "a!");  // shift inverts caps
    EXPECT_EQ(type(d, { kCaps, kCaps | kBreak, 0x1E }), "a");
    EXPECT_FALSE(d.caps_lock());
}

TEST(KeyDecoder, CtrlLettersBecomeControlCodes)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { kCtrl, 0x2E }), "\x03");  // Ctrl-C
    EXPECT_EQ(type(d, { 0x16, 0x1E, 0x12 }), "\x15\x01\x05");  // Ctrl-U A E
    EXPECT_EQ(type(d, { 0x1A }), "\x1b");  // Ctrl-[
    EXPECT_EQ(type(d, { kCtrl | kBreak, 0x2E }), "c");
    // Right Ctrl (E0 1D) and caps lock together still give the control code.
    EXPECT_EQ(type(d, { kCaps, 0xE0, kCtrl, 0x2E, 0xE0, kCtrl | kBreak, 0x2E }), "\x03" "C");
}

TEST(KeyDecoder, AltPrefixesEscape)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { kAlt, 0x30, kAlt | kBreak, 0x30 }), "\x1b" "bb");
    EXPECT_EQ(type(d, { 0xE0, kAlt, 0x30, 0xE0, kAlt | kBreak }), "\x1b" "b");  // AltGr
}

TEST(KeyDecoder, EditingKeys)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { 0x1C, 0x9C }), "\r");
    EXPECT_EQ(type(d, { 0x0E }), "\x7f");
    EXPECT_EQ(type(d, { 0x0F }), "\t");
    EXPECT_EQ(type(d, { 0x01 }), "\x1b");
    EXPECT_EQ(type(d, { 0xE0, 0x1C, 0xE0, 0x9C }), "\r");  // keypad Enter
    EXPECT_EQ(type(d, { 0xE0, 0x35 }), "/");               // keypad /
}

TEST(KeyDecoder, ExtendedCursorKeys)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { 0xE0, 0x48, 0xE0, 0xC8 }), "\x1b[A");
    EXPECT_EQ(type(d, { 0xE0, 0x50, 0xE0, 0xD0 }), "\x1b[B");
    EXPECT_EQ(type(d, { 0xE0, 0x4D }), "\x1b[C");
    EXPECT_EQ(type(d, { 0xE0, 0x4B }), "\x1b[D");
    EXPECT_EQ(type(d, { 0xE0, 0x47 }), "\x1b[H");
    EXPECT_EQ(type(d, { 0xE0, 0x4F }), "\x1b[F");
    EXPECT_EQ(type(d, { 0xE0, 0x53, 0xE0, 0xD3 }), "\x1b[3~");
    EXPECT_EQ(type(d, { 0xE0, 0x52, 0xE0, 0x49, 0xE0, 0x51 }), "\x1b[2~\x1b[5~\x1b[6~");
    KeyEvent e = d.feed(0xE0);
    EXPECT_EQ(e.key, Key::None);
    EXPECT_EQ(d.feed(0x53).key, Key::Delete);
}

TEST(KeyDecoder, KeypadFollowsNumLock)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { 0x48, 0x4C, 0x4A, 0x4E, 0x37 }), "\x1b[A-+*");  // no Num Lock
    EXPECT_EQ(type(d, { 0x45, 0xC5, 0x48, 0x4C, 0x52, 0x53 }), "850.");
    EXPECT_TRUE(d.num_lock());
    EXPECT_EQ(type(d, { 0xE0, 0x48 }), "\x1b[A");  // grey arrows ignore Num Lock
}

TEST(KeyDecoder, BreakCodesAndUnknownCodesIgnored)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { 0x9E, 0xA3, 0x81, 0xFA, 0xFE, 0xEE, 0x00, 0xFF, 0x3B, 0x58, 0x46, 0x5B, 0x7F }), "");
    EXPECT_EQ(type(d, { 0xE0, 0x5B, 0xE0, 0xDB, 0xE0, 0x10 }), "");  // GUI key, media key
    EXPECT_EQ(type(d, { 0x1E }), "a");
}

TEST(KeyDecoder, PrintScreenFakeShiftsDoNotShift)
{
    KeyDecoder d;
    EXPECT_EQ(type(d, { 0xE0, 0x2A, 0xE0, 0x37, 0x1E, 0xE0, 0xB7, 0xE0, 0xAA }), "a");
    EXPECT_EQ(d.modifiers(), 0);
    // A real shift held across the fake release stays held.
    EXPECT_EQ(type(d, { kLShift, 0xE0, 0xAA, 0x1E }), "A");
}

TEST(KeyDecoder, PauseSequenceSwallowed)
{
    KeyDecoder d;
    // E1 1D 45 E1 9D C5: contains Ctrl and Num Lock codes that must not act.
    EXPECT_EQ(type(d, { 0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5, 0x2E }), "c");
    EXPECT_EQ(d.modifiers(), 0);
    EXPECT_FALSE(d.num_lock());
    // Pause after an E0 prefix resets the prefix too.
    EXPECT_EQ(type(d, { 0xE0, 0xE1, 0x1D, 0x45, 0x48 }), "\x1b[A");
}

TEST(KeyDecoder, EveryByteSequenceIsSafe)
{
    KeyDecoder d;
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            char buf[kMaxTerminalBytes];
            EXPECT_LE(to_terminal_bytes(d.feed(static_cast<uint8_t>(a)), buf), kMaxTerminalBytes);
            EXPECT_LE(to_terminal_bytes(d.feed(static_cast<uint8_t>(b)), buf), kMaxTerminalBytes);
        }
    }
}

TEST(ToTerminalBytes, NoneProducesNothingEvenWithModifiers)
{
    char buf[kMaxTerminalBytes];
    EXPECT_EQ(to_terminal_bytes(KeyEvent {}, buf), 0u);
    EXPECT_EQ(to_terminal_bytes(KeyEvent { Key::None, 0, keymod::kAlt | keymod::kCtrl }, buf), 0u);
    EXPECT_EQ(to_terminal_bytes(KeyEvent { Key::Delete, 0, keymod::kAlt }, buf), 5u);
    EXPECT_EQ(std::string(buf, 5), "\x1b\x1b[3~");
    EXPECT_EQ(to_terminal_bytes(KeyEvent { Key::Char, ' ', keymod::kCtrl }, buf), 1u);
    EXPECT_EQ(buf[0], '\0');
}
