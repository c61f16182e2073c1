// The PS/2 scancode set 1 decoder over any byte stream, against a model of
// the keyboard's state kept here: which Shift, Ctrl and Alt keys are held
// (E0 2A / E0 36, the fake shifts, are not keys), Caps Lock and Num Lock,
// the E0 prefix and the two bytes after each E1 (Pause). Every event
// carries the model's modifiers; a letter's case is Shift xor Caps Lock;
// characters are printable ASCII; releases give nothing. Every event,
// and every key with any modifiers and character, translates to at most
// kMaxTerminalBytes bytes (into a buffer of exactly that size), ESC first
// with Alt, nothing for Key::None.
#include <stdint.h>
#include <string.h>

#include <memory>

#include "kernel/drivers/i8042/scancode.h"
#include "tests/fuzz/fuzz_check.h"

using namespace exo;

namespace {

struct Model {
    bool left_shift = false, right_shift = false, left_ctrl = false, right_ctrl = false;
    bool left_alt = false, right_alt = false, caps = false, num = false, extended = false;
    int skip = 0;

    uint8_t modifiers() const
    {
        return static_cast<uint8_t>((left_shift || right_shift ? keymod::kShift : 0)
            | (left_ctrl || right_ctrl ? keymod::kCtrl : 0) | (left_alt || right_alt ? keymod::kAlt : 0));
    }

    // What the byte does to the state; whether it can produce an event.
    bool feed(uint8_t byte)
    {
        if (skip > 0) {
            --skip;
            return false;
        }
        if (byte == 0xE0) {
            extended = true;
            return false;
        }
        if (byte == 0xE1) {
            extended = false;
            skip = 2;
            return false;
        }
        bool e0 = extended;
        extended = false;
        bool make = (byte & 0x80) == 0;
        switch (byte & 0x7F) {
        case 0x2A: if (!e0) { left_shift = make; return false; } break;
        case 0x36: if (!e0) { right_shift = make; return false; } break;
        case 0x1D: (e0 ? right_ctrl : left_ctrl) = make; return false;
        case 0x38: (e0 ? right_alt : left_alt) = make; return false;
        case 0x3A: if (!e0 && make) { caps = !caps; return false; } break;
        case 0x45: if (!e0 && make) { num = !num; return false; } break;
        }
        return make;
    }
};

void check_translation(const KeyEvent& event)
{
    std::unique_ptr<char[]> out(new char[kMaxTerminalBytes]);
    size_t n = to_terminal_bytes(event, out.get());
    FUZZ_CHECK(n <= kMaxTerminalBytes);
    FUZZ_CHECK((n == 0) == (event.key == Key::None));
    if (n != 0 && (event.modifiers & keymod::kAlt))
        FUZZ_CHECK(out[0] == '\x1b' && n >= 2);
    if (event.key == Key::Char && !(event.modifiers & keymod::kCtrl))
        FUZZ_CHECK(out[n - 1] == event.ch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    KeyDecoder decoder;
    Model model;
    for (size_t i = 0; i < size; ++i) {
        uint8_t byte = data[i];
        bool can = model.feed(byte);
        KeyEvent event = decoder.feed(byte);
        FUZZ_CHECK(decoder.modifiers() == model.modifiers());
        FUZZ_CHECK(decoder.caps_lock() == model.caps && decoder.num_lock() == model.num);
        if (!can)
            FUZZ_CHECK(event.key == Key::None);
        if (event.key != Key::None || event.modifiers != 0)
            FUZZ_CHECK(event.modifiers == model.modifiers());
        if (event.key == Key::Char) {
            FUZZ_CHECK(event.ch >= 0x20 && event.ch <= 0x7E);
            char c = event.ch;
            bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (letter && byte < 0x3A)  // a letter key (the keypad has none)
                FUZZ_CHECK((c >= 'A' && c <= 'Z') == (((event.modifiers & keymod::kShift) != 0) != model.caps));
        } else {
            FUZZ_CHECK(event.ch == 0);
        }
        check_translation(event);
    }
    // Every key with whatever modifiers and character the input gives.
    for (uint8_t k = 0; k <= static_cast<uint8_t>(Key::PageDown); ++k) {
        KeyEvent event { static_cast<Key>(k), size != 0 ? static_cast<char>(data[k % size]) : 'a',
            static_cast<uint8_t>(size != 0 ? data[(k + 1) % size] & 7 : 0) };
        check_translation(event);
    }
    return 0;
}
