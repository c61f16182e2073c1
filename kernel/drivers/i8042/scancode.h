// PS/2 scancode set 1 decoder (what an i8042 with translation on delivers;
// IBM PC/XT keyboard codes plus the 0xE0/0xE1 prefixed keys of the AT-101
// layout), US QWERTY. A pure byte-at-a-time state machine, plus the
// translation of key events into the bytes a VT100 terminal would send, so
// the keyboard can drive the same line editor as the serial port.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

enum class Key : uint8_t {
    None,  // nothing to report (release, modifier, prefix, unknown code)
    Char,  // KeyEvent::ch holds the character, shift and caps lock applied
    // Keys sending one byte (CR, DEL, TAB, ESC), in that order.
    Enter, Backspace, Tab, Escape,
    // Cursor keys, in the order of their VT100 final bytes A B C D H F.
    Up, Down, Right, Left, Home, End,
    // VT220 editing keys, in the order of their numbers 2 3 5 6.
    Insert, Delete, PageUp, PageDown,
};

// KeyEvent::modifiers bits (either side of the keyboard).
namespace keymod {
constexpr uint8_t kShift = 0x01;
constexpr uint8_t kCtrl = 0x02;
constexpr uint8_t kAlt = 0x04;
}  // namespace keymod

struct KeyEvent {
    Key key { Key::None };
    char ch { 0 };
    uint8_t modifiers { 0 };
};

class KeyDecoder {
public:
    // Feed every byte read from the keyboard port. Releases, modifiers,
    // lock keys, prefixes, Pause (0xE1 ...), Print Screen, F-keys and codes
    // this layout does not know give Key::None.
    KeyEvent feed(uint8_t byte);

    uint8_t modifiers() const;
    bool caps_lock() const { return m_caps_lock; }
    bool num_lock() const { return m_num_lock; }

private:
    enum class Prefix : uint8_t { None, Extended };

    // Modifier keys held, one bit each side.
    uint8_t m_held { 0 };
    Prefix m_prefix { Prefix::None };
    uint8_t m_skip { 0 };  // bytes of a Pause sequence still to swallow
    bool m_caps_lock { false };
    bool m_num_lock { false };
};

// Longest output of to_terminal_bytes (Alt + ESC [ 3 ~).
constexpr size_t kMaxTerminalBytes = 8;

// What a VT100/xterm would send for the key: printable characters as is,
// Enter CR, Backspace DEL (0x7F), Ctrl+letter its control code (Ctrl-C 0x03),
// arrows ESC [ A-D, Home/End ESC [ H / F, Insert/Delete/PageUp/PageDown
// ESC [ 2/3/5/6 ~, Alt prefixes ESC. Returns the byte count (0 for Key::None).
size_t to_terminal_bytes(const KeyEvent& event, char out[kMaxTerminalBytes]);

}  // namespace exo
