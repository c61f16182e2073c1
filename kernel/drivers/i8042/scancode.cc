#include "kernel/drivers/i8042/scancode.h"

namespace exo {

namespace {

constexpr uint8_t kPrefixExtended = 0xE0;
// Pause sends E1 1D 45 E1 9D C5: each E1 is followed by two bytes to drop.
constexpr uint8_t kPrefixPause = 0xE1;
constexpr uint8_t kPauseTail = 2;
constexpr uint8_t kReleaseBit = 0x80;
constexpr uint8_t kCodeMask = 0x7F;

// Set 1 make codes that are not in the character tables.
constexpr uint8_t kCodeLeftShift = 0x2A;
constexpr uint8_t kCodeRightShift = 0x36;
constexpr uint8_t kCodeCtrl = 0x1D;   // right Ctrl with E0
constexpr uint8_t kCodeAlt = 0x38;    // right Alt (AltGr) with E0
constexpr uint8_t kCodeCapsLock = 0x3A;
constexpr uint8_t kCodeNumLock = 0x45;
constexpr uint8_t kCodeEnter = 0x1C;  // keypad Enter with E0
constexpr uint8_t kCodeSlash = 0x35;  // keypad '/' with E0
constexpr uint8_t kCodeKeypadFirst = 0x47;
constexpr uint8_t kCodeKeypadLast = 0x53;

// m_held bits: the left keys as their keymod bit, the right ones three
// bits higher, so modifiers() is one shift and OR.
constexpr uint8_t kRightShiftBy = 3;
constexpr uint8_t kLeftShift = keymod::kShift;
constexpr uint8_t kRightShift = keymod::kShift << kRightShiftBy;
constexpr uint8_t kLeftCtrl = keymod::kCtrl;
constexpr uint8_t kRightCtrl = keymod::kCtrl << kRightShiftBy;
constexpr uint8_t kLeftAlt = keymod::kAlt;
constexpr uint8_t kRightAlt = keymod::kAlt << kRightShiftBy;
constexpr uint8_t kModifierMask = keymod::kShift | keymod::kCtrl | keymod::kAlt;
static_assert(kModifierMask < (1u << kRightShiftBy));

// Codes 0x00-0x39, US QWERTY. 0 = no character (modifiers, unused).
// alignas(1): byte tables need no ABI 16-byte alignment (and its padding).
alignas(1) constexpr char kPlain[] = "\0\x1b" "1234567890-=" "\b\t" "qwertyuiop[]" "\r\0" "asdfghjkl;'`"
                          "\0\\" "zxcvbnm,./" "\0*\0 ";
alignas(1) constexpr char kShifted[] = "\0\x1b" "!@#$%^&*()_+" "\b\t" "QWERTYUIOP{}" "\r\0" "ASDFGHJKL:\"~"
                            "\0|" "ZXCVBNM<>?" "\0*\0 ";
static_assert(sizeof(kPlain) == kCodeCapsLock + 1 && sizeof(kShifted) == kCodeCapsLock + 1);

// Keypad 0x47-0x53: the digit with Num Lock, else the navigation key (also
// what the E0-prefixed grey keys send).
constexpr char kKeypadChars[] = "789-456+1230.";
constexpr Key kKeypadKeys[] = {
    Key::Home, Key::Up, Key::PageUp, Key::None, Key::Left, Key::None, Key::Right,
    Key::None, Key::End, Key::Down, Key::PageDown, Key::Insert, Key::Delete,
};
static_assert(sizeof(kKeypadKeys) == kCodeKeypadLast - kCodeKeypadFirst + 1);

uint8_t modifier_bit(uint8_t code, bool extended)
{
    switch (code) {
    // E0 2A / E0 36 are fake shifts around Print Screen and the grey keys.
    case kCodeLeftShift: return extended ? 0 : kLeftShift;
    case kCodeRightShift: return extended ? 0 : kRightShift;
    case kCodeCtrl: return extended ? kRightCtrl : kLeftCtrl;
    case kCodeAlt: return extended ? kRightAlt : kLeftAlt;
    default: return 0;
    }
}

constexpr bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

KeyEvent from_char(char c, uint8_t modifiers)
{
    switch (c) {
    case 0: return {};
    case '\x1b': return { Key::Escape, 0, modifiers };
    case '\b': return { Key::Backspace, 0, modifiers };
    case '\t': return { Key::Tab, 0, modifiers };
    case '\r': return { Key::Enter, 0, modifiers };
    default: return { Key::Char, c, modifiers };
    }
}

}  // namespace

uint8_t KeyDecoder::modifiers() const
{
    return static_cast<uint8_t>((m_held | m_held >> kRightShiftBy) & kModifierMask);
}

// noipa: not specialised on the kernel's global decoder (short
// register-relative field accesses instead of RIP-relative ones).
__attribute__((noipa)) KeyEvent KeyDecoder::feed(uint8_t byte)
{
    if (m_skip != 0) {
        --m_skip;
        return {};
    }
    if (byte == kPrefixExtended) {
        m_prefix = Prefix::Extended;
        return {};
    }
    if (byte == kPrefixPause) {
        m_prefix = Prefix::None;
        m_skip = kPauseTail;
        return {};
    }
    bool extended = m_prefix == Prefix::Extended;
    m_prefix = Prefix::None;
    uint8_t code = byte & kCodeMask;
    bool release = (byte & kReleaseBit) != 0;

    if (uint8_t bit = modifier_bit(code, extended)) {
        m_held = release ? static_cast<uint8_t>(m_held & ~bit) : static_cast<uint8_t>(m_held | bit);
        return {};
    }
    if (release)
        return {};

    uint8_t mods = modifiers();
    bool keypad = code >= kCodeKeypadFirst && code <= kCodeKeypadLast;
    if (extended) {
        if (code == kCodeEnter)
            return { Key::Enter, 0, mods };
        if (code == kCodeSlash)
            return { Key::Char, '/', mods };
        if (keypad)
            return { kKeypadKeys[code - kCodeKeypadFirst], 0, mods };
        return {};  // Print Screen, GUI, Menu, media keys
    }
    if (code == kCodeCapsLock) {
        m_caps_lock = !m_caps_lock;
        return {};
    }
    if (code == kCodeNumLock) {
        m_num_lock = !m_num_lock;
        return {};
    }
    if (code < kCodeCapsLock) {
        char c = ((mods & keymod::kShift) ? kShifted : kPlain)[code];
        if (m_caps_lock && is_letter(c))
            c = static_cast<char>(c ^ 0x20);  // ASCII case bit
        return from_char(c, mods);
    }
    if (keypad) {
        char c = kKeypadChars[code - kCodeKeypadFirst];
        Key key = kKeypadKeys[code - kCodeKeypadFirst];
        // Without Num Lock, keypad 5 is no key at all; '-' and '+' always type.
        if (m_num_lock || (key == Key::None && c != '5'))
            return from_char(c, mods);
        return key == Key::None ? KeyEvent {} : KeyEvent { key, 0, mods };
    }
    return {};  // F-keys, Scroll Lock, unknown codes
}

size_t to_terminal_bytes(const KeyEvent& event, char out[kMaxTerminalBytes])
{
    constexpr char kEscape = 0x1B;
    constexpr char kDelete = 0x7F;      // what VT100-style terminals send for Backspace
    constexpr char kControlMask = 0x1F;  // Ctrl clears bits 5 and 6 (ASCII)
    static constexpr char kCursorFinals[] = "ABCDHF";
    static constexpr char kEditingNumbers[] = "2356";
    static constexpr char kSingleBytes[] = { '\r', kDelete, '\t', kEscape };  // Enter..Escape

    Key key = event.key;
    if (key == Key::None)
        return 0;
    size_t n = 0;
    if (event.modifiers & keymod::kAlt)
        out[n++] = kEscape;  // xterm "meta sends escape"
    if (key == Key::Char) {
        char c = event.ch;
        if (event.modifiers & keymod::kCtrl) {
            if ((c >= '@' && c <= '_') || (c >= 'a' && c <= 'z'))
                c = static_cast<char>(c & kControlMask);
            else if (c == ' ')
                c = 0;
        }
        out[n++] = c;
    } else if (key <= Key::Escape) {
        out[n++] = kSingleBytes[static_cast<uint8_t>(key) - static_cast<uint8_t>(Key::Enter)];
    } else {
        out[n++] = kEscape;
        out[n++] = '[';
        if (key <= Key::End) {
            out[n++] = kCursorFinals[static_cast<uint8_t>(key) - static_cast<uint8_t>(Key::Up)];
        } else {
            out[n++] = kEditingNumbers[static_cast<uint8_t>(key) - static_cast<uint8_t>(Key::Insert)];
            out[n++] = '~';
        }
    }
    return n;
}

}  // namespace exo
